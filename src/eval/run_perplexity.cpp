#include <cmath>

#include "backend/context.h"
#include "config/config.h"
#include "config/search.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "eval/perplexity.h"
#include "eval/text_stream.h"
#include "io/model_source.h"
#include "tokenizer/tokenizer.h"

namespace maca::eval {

PerplexityResult run_perplexity(const config::Config& cfg) {
  // The forward ops exist on the CPU only so far; `auto` therefore means the CPU.
  const std::string dev = cfg.get_string("run.device");
  const Device device = dev == "auto" ? Device::cpu() : backend::parse_device(dev);
  const auto ctx = backend::Context::create(device, static_cast<int>(cfg.get_int("run.threads")));

  const auto model_path = config::find_model(cfg.get_string("model.path"));
  const auto data_path = config::find_data_file(cfg.get_string("eval.data"), cfg);
  Timer load_timer;
  const auto source = io::open_model(model_path);
  const model::Model model(*source, *ctx);
  const auto tokenizer = tokenizer::load_tokenizer(model_path);
  const std::string text = load_eval_text(data_path, parse_text_format(cfg.get_string("eval.format")));
  const std::vector<int32_t> ids = tokenizer.encode(text, true);
  spdlog::info("model {} ({} layers, hidden {}), data {} ({} bytes -> {} tokens), prepared in {}",
               model_path.string(), model.spec().n_layers, model.spec().hidden, data_path.string(), text.size(),
               ids.size(), format_duration(load_timer.seconds()));

  PerplexityOptions opt;
  opt.ctx = cfg.get_int("eval.ctx");
  opt.max_windows = cfg.get_int("eval.max_windows");
  opt.batch_tokens = cfg.get_int("eval.batch_tokens");
  const PerplexityResult r = perplexity(model, ids, opt);
  spdlog::info("PPL {:.4f} | {} windows x {} tokens, {} predicted tokens (stream {} tokens) | {:.1f} tokens/s, {} | "
               "peak RSS {:.2f} GiB", r.ppl, r.windows, opt.ctx, r.predicted_tokens, r.stream_tokens, r.tokens_per_s,
               format_duration(r.seconds), static_cast<double>(peak_rss_bytes()) / (1 << 30));
  return r;
}

}  // namespace maca::eval
