#include "cli/commands.h"
#include "pipeline/quantize_job.h"

namespace maca::cli {

Command quantize_command() {
  return {.name = "quantize",
          .summary = "quantize a model's weights (RTN, GPTQ, GPTAQ, SNRQ, K-SNRQ; MaCa multi-scale calibration)",
          .description =
              "Calibrates on a text corpus, rounds every linear layer of every block (one block resident at a\n"
              "time), writes a GPTQ checkpoint (run.dir/gptq), a fake-quant model (run.dir/fake_quant) and\n"
              "run.dir/report.json, and prints the WikiText-2 perplexity of the full-precision and the quantized\n"
              "model. Recipes are in configs/.\n"
              "Every finished block is checkpointed to run.dir/checkpoint (HDF5); rerunning the same command\n"
              "resumes after the last finished block, with any rank count (a changed config, model or\n"
              "calibration set is refused, naming the difference). SIGUSR1/SIGTERM stop the run after the current block's checkpoint\n"
              "with exit code 75. Under mpirun/srun the ranks share the calibration sequences and the rows of\n"
              "every layer (run.partition=owner: whole layers). Examples:\n"
              "  maca quantize -c configs/gptq-w4g128.yaml --run-dir runs/smollm2-gptq-w4\n"
              "  maca quantize -c configs/maca-w3g128.yaml --set calib.n_samples=32 --max-windows 16\n"
              "  maca quantize --method rtn --bits 3 --group-size 128 --run-dir runs/rtn-w3\n"
              "  mpirun -np 4 maca quantize -c configs/gptq-w4g128.yaml --run-dir runs/gptq-w4-p4",
          .sections = {"model", "calib", "quant", "export", "eval", "data", "run"},
          .flags = {{"model", "model.path", "PATH"},
                    {"method", "quant.method", "NAME"},
                    {"bits", "quant.bits", "B"},
                    {"group-size", "quant.group_size", "G"},
                    {"sampler", "calib.sampler", "NAME"},
                    {"calib-data", "calib.data", "FILE"},
                    {"n-samples", "calib.n_samples", "N"},
                    {"seed", "calib.seed", "S"},
                    {"run-dir", "run.dir", "DIR"},
                    {"resume", "run.resume", ""},
                    {"max-windows", "eval.max_windows", "N"}},
          .positional_flag = "",
          .run = [](const config::Config& cfg) {
            pipeline::run_quantize(cfg);
            return 0;
          }};
}

}  // namespace maca::cli
