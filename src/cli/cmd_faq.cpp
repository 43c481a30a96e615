#include "cli/commands.h"
#include "faq/regenerate.h"

namespace maca::cli {

Command faq_command() {
  return {.name = "faq",
          .summary = "regenerate the calibration set with a larger model of the target's family (FAQ)",
          .description =
              "FAQ (algorithms.md section 5): the ordinary calibration samples (calib.*) are shown to a\n"
              "larger teacher of the target's family (faq.teacher), which continues each with step-by-step\n"
              "reasoning; faq.candidates candidates per sample compete on an expert score (z-normalized\n"
              "in the group), the best faq.select per group are kept, re-normalized to calib.seq_len, and\n"
              "written as a calibration-set file (docs/formats/calib-set.md) with full provenance. Then:\n"
              "  maca quantize --model TARGET --set calib.data=RUN_DIR/calib-set.json\n"
              "Units of gen.batch requests are shared by MPI ranks and saved in run.dir/units as they\n"
              "finish: a killed run resumes where it stopped (same output for any rank count). Example:\n"
              "  maca faq -c configs/faq-qwen2.5-coder.yaml --run-dir runs/faq-qwen",
          .sections = {"model", "faq", "gen", "calib", "run"},
          .flags = {{"model", "model.path", "PATH"},
                    {"teacher", "faq.teacher", "PATH"},
                    {"run-dir", "run.dir", "DIR"},
                    {"out", "faq.out", "FILE"}},
          .positional_flag = "",
          .run = faq::run_regenerate};
}

}  // namespace maca::cli
