// `maca export RUN_DIR`: rebuilds a quantize run's outputs (run_dir/gptq,
// run_dir/fake_quant) from its checkpoint alone — after the outputs were
// deleted, to change the export dtype, or on a machine that only has the run
// directory and the source model. The run's config.resolved.yaml gives the
// model and the export settings; export.* keys given on the command line
// override them. The model files must still match the run's fingerprint.
#pragma once

#include <filesystem>

namespace maca::config {
class Config;
}

namespace maca::pipeline {

// `cmd` is the export command's resolved config (run.dir and any export.*
// overrides). Throws maca::Error naming what is missing or changed.
std::filesystem::path run_export(const config::Config& cmd);

}  // namespace maca::pipeline
