#include "cli/commands.h"
#include "pipeline/export_job.h"

namespace maca::cli {

Command export_command() {
  return {.name = "export",
          .summary = "rebuild a quantize run's GPTQ checkpoint and fake-quant model from its checkpoint alone",
          .description =
              "Reads RUN_DIR/config.resolved.yaml, RUN_DIR/fingerprint and the per-block HDF5 files in\n"
              "RUN_DIR/checkpoint, and writes RUN_DIR/gptq and RUN_DIR/fake_quant again (byte-identical to what\n"
              "`maca quantize` wrote, unless export.* keys are changed on this command line). The source model\n"
              "(model.path of the run) must still be there, unchanged. Examples:\n"
              "  maca export runs/smollm2-gptq-w4\n"
              "  maca export runs/smollm2-gptq-w4 --set export.dtype=float32 --set export.fake_quant=false",
          .sections = {"export", "run"},
          .flags = {{"run-dir", "run.dir", "RUN_DIR"}},
          .positional_flag = "run-dir",
          .logs_config = false,
          .run = [](const config::Config& cfg) {
            pipeline::run_export(cfg);
            return 0;
          }};
}

}  // namespace maca::cli
