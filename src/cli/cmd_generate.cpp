// `maca generate`: text from a model with the generation settings
// `maca calib regenerate` gives its teacher (gen.*), to try a template and
// sampling settings on a few prompts, and to time batched decoding.
#include <fmt/format.h>

#include "backend/context.h"
#include "cli/commands.h"
#include "config/search.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/timer.h"
#include "parallel/comm.h"
#include "parallel/partition.h"
#include "gen/options.h"
#include "io/model_source.h"

namespace maca::cli {
namespace {

int run_generate(const config::Config& cfg) {
  const auto ctx = backend::Context::create(
      backend::job_device(cfg.get_string("run.device"), "generate"),
      parallel::threads_per_rank(static_cast<int>(cfg.get_int("run.threads")), parallel::world().local_size()));
  const auto model_path = config::find_model(cfg.get_string("model.path"));
  const auto source = io::open_model(model_path);
  const model::Model model(*source, *ctx);
  const auto tok = tokenizer::load_tokenizer(model_path);
  MACA_CHECK(!cfg.get_string("gen.prompt").empty(), "maca generate: no prompt (give --prompt TEXT)");
  const std::string text =
      gen::apply_template(cfg.get_string("gen.template"), cfg.get_string("gen.prompt"), "gen.template");
  const std::vector<int32_t> prompt = tok.encode(text, true);
  const gen::GenerateOptions opt = gen::read_generate_options(cfg, tok, model.spec().vocab);

  std::vector<gen::GenerateRequest> requests;
  const auto seed = static_cast<uint64_t>(cfg.get_int("gen.seed"));
  for (int64_t i = 0; i < cfg.get_int("gen.samples"); ++i)
    requests.push_back({prompt, seed + static_cast<uint64_t>(i)});
  const gen::Generator generator(model, *ctx, &tok);
  Timer timer;
  const auto out = generator.generate(requests, opt);
  const double seconds = timer.seconds();

  int64_t new_tokens = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    new_tokens += static_cast<int64_t>(out[i].tokens.size());
    fmt::print("--- sample {} (seed {}, {} tokens, {}) ---\n{}\n", i, requests[i].seed, out[i].tokens.size(),
               gen::stop_reason_name(out[i].reason), tok.decode(out[i].tokens, true));
  }
  const int64_t prompt_tokens = static_cast<int64_t>(prompt.size() * requests.size());
  fmt::print(
      "--- {} samples of a {}-token prompt, batch {}: {} prompt + {} new tokens in {:.2f} s, {:.1f} new tokens/s "
      "(prefill included), peak RSS {:.2f} GiB ---\n",
      requests.size(), prompt.size(), opt.batch, prompt_tokens, new_tokens, seconds,
      static_cast<double>(new_tokens) / seconds, static_cast<double>(peak_rss_bytes()) / (1 << 30));
  return 0;
}

}  // namespace

Command generate_command() {
  return {.name = "generate",
          .summary = "text from a model (batched, KV-cached) with the gen.* settings the FAQ teacher uses",
          .description =
              "Generates gen.samples continuations of one prompt, put through gen.template, in batches of\n"
              "gen.batch sequences, and prints them with the throughput. Example (configs/chat-qwen2.5.yaml\n"
              "holds Qwen2.5's chat format; on a command line, bash's $'...' turns \\n into newlines):\n"
              "  maca generate -c configs/chat-qwen2.5.yaml --model qwen2.5-coder-1.5b \\\n"
              "    --prompt 'Explain binary search.' --samples 4",
          .sections = {"model", "gen", "run"},
          .flags = {{"model", "model.path", "PATH"},
                    {"prompt", "gen.prompt", "TEXT"},
                    {"samples", "gen.samples", "N"},
                    {"max-new-tokens", "gen.max_new_tokens", "N"},
                    {"temperature", "gen.temperature", "T"},
                    {"seed", "gen.seed", "N"}},
          .positional_flag = "",
          .logs_config = false,
          .run = run_generate};
}

}  // namespace maca::cli
