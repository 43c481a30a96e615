#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "config/config.h"
#include "config/search.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "parallel/device_comm.h"
#include "parallel/partition.h"
#include "eval/perplexity.h"
#include "io/text_stream.h"
#include "io/model_source.h"
#include "tokenizer/tokenizer.h"

namespace maca::eval {
namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) MACA_THROW(FileError, "cannot write '{}'; check that the run directory is writable and has space",
                       path.string());
}

// run.dir receives the resolved config and the result, for sweeps and scripts.
void write_run_dir(const std::filesystem::path& dir, const config::Config& cfg, const std::filesystem::path& model,
                   const std::filesystem::path& data, const PerplexityOptions& opt, const PerplexityResult& r) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) MACA_THROW(FileError, "cannot create run directory '{}': {}", dir.string(), ec.message());
  write_file(dir / "config.resolved.yaml", cfg.to_yaml());
  const nlohmann::json j = {{"model", model.string()},       {"data", data.string()},
                            {"ctx", opt.ctx},                {"windows", r.windows},
                            {"stream_tokens", r.stream_tokens}, {"predicted_tokens", r.predicted_tokens},
                            {"mean_nll", r.mean_nll},        {"ppl", r.ppl},
                            {"seconds", r.seconds},          {"tokens_per_s", r.tokens_per_s},
                            {"peak_rss_bytes", peak_rss_bytes()}};
  write_file(dir / "eval.json", j.dump(2) + "\n");
  spdlog::info("wrote {}/eval.json and config.resolved.yaml", dir.string());
}

}  // namespace

PerplexityResult run_perplexity(const config::Config& cfg) {
  const auto ctx = backend::Context::create(
      parallel::rank_device(backend::job_device(cfg.get_string("run.device"), "eval"), parallel::world()), parallel::threads_per_rank(static_cast<int>(cfg.get_int("run.threads")), parallel::world().local_size()));

  const auto model_path = config::find_model(cfg.get_string("model.path"));
  const auto data_path = config::find_data_file(cfg.get_string("eval.data"), cfg);
  Timer load_timer;
  const auto source = io::open_model(model_path);
  const model::Model model(*source, *ctx);
  const auto tokenizer = tokenizer::load_tokenizer(model_path);
  const std::string text = io::load_eval_text(data_path, io::parse_text_format(cfg.get_string("eval.format")));
  MACA_CHECK(tokenizer.vocab_size() <= model.spec().vocab,
             "the tokenizer of {} has {} tokens but the model's vocabulary has {}; the tokenizer does not belong to "
             "this model", model_path.string(), tokenizer.vocab_size(), model.spec().vocab);
  const std::vector<int32_t> ids = tokenizer.encode(text, true);
  spdlog::info("model {} ({} layers, hidden {}), data {} ({} bytes -> {} tokens), prepared in {}",
               model_path.string(), model.spec().n_layers, model.spec().hidden, data_path.string(), text.size(),
               ids.size(), format_duration(load_timer.seconds()));

  PerplexityOptions opt;
  opt.ctx = cfg.get_int("eval.ctx");
  opt.max_windows = cfg.get_int("eval.max_windows");
  opt.batch_tokens = cfg.get_int("eval.batch_tokens");
  opt.comm = &parallel::world();
  const PerplexityResult r = perplexity(model, ids, opt);
  spdlog::info("PPL {:.4f} | {} windows x {} tokens, {} predicted tokens (stream {} tokens) | {:.1f} tokens/s, {} | "
               "peak RSS {:.2f} GiB", r.ppl, r.windows, opt.ctx, r.predicted_tokens, r.stream_tokens, r.tokens_per_s,
               format_duration(r.seconds), static_cast<double>(peak_rss_bytes()) / (1 << 30));
  const std::string run_dir = cfg.get_string("run.dir");
  if (!run_dir.empty() && parallel::world().rank() == 0) write_run_dir(run_dir, cfg, model_path, data_path, opt, r);
  return r;
}

}  // namespace maca::eval
