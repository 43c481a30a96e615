// The outputs of a quantize run, rebuilt from its checkpoint alone: the GPTQ
// checkpoint (run_dir/gptq) and the fake-quant model (run_dir/fake_quant), as
// the config's export.* keys ask, each with the source's tokenizer files (a
// .gguf source's written from its metadata: tokenizer/hf_tokenizer_writer.h). `maca quantize` calls it after the last
// block and `maca export RUN_DIR` calls it on a finished (or copied) run, so
// both give the same bytes.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "io/model_source.h"
#include "pipeline/run_checkpoint.h"

namespace maca::pipeline {

// `cfg` is the run's resolved config. Throws maca::Error when the checkpoint
// does not hold all `n_blocks` blocks. Returns {"gptq": dir, "fake_quant": dir}.
nlohmann::json export_run(const config::Config& cfg, const io::ModelSource& source, const RunCheckpoint& ck,
                          int n_blocks, const std::filesystem::path& run_dir);

}  // namespace maca::pipeline
