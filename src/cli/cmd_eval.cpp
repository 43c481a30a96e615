#include "cli/commands.h"
#include "eval/perplexity.h"

namespace maca::cli {

Command eval_command() {
  return {.name = "eval",
          .summary = "perplexity of a model on an evaluation text (WikiText-2 by default)",
          .description =
              "Computes the perplexity of a model on a text, split into non-overlapping windows of eval.ctx\n"
              "tokens as in the GPTQ literature. Example:\n"
              "  maca eval --model smollm2-135m --data wikitext-2-raw/wiki.test.raw --ctx 2048 --max-windows 40",
          .sections = {"model", "eval", "data", "run"},
          .flags = {{"model", "model.path", "PATH"},
                    {"data", "eval.data", "FILE"},
                    {"ctx", "eval.ctx", "N"},
                    {"max-windows", "eval.max_windows", "N"}},
          .positional_flag = "",
          .run = [](const config::Config& cfg) {
            eval::run_perplexity(cfg);
            return 0;
          }};
}

}  // namespace maca::cli
