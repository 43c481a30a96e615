#include "eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"
#include "parallel/partition.h"

namespace maca::eval {

PerplexityResult perplexity(const model::Model& model, std::span<const int32_t> ids, const PerplexityOptions& opt) {
  MACA_CHECK(opt.ctx >= 2, "eval.ctx must be at least 2 (got {})", opt.ctx);
  const int64_t available = static_cast<int64_t>(ids.size()) / opt.ctx;
  MACA_CHECK(available > 0, "the evaluation stream has {} tokens, fewer than one window of eval.ctx = {}; use a "
             "larger text or a smaller --ctx", ids.size(), opt.ctx);
  const int64_t windows = opt.max_windows > 0 ? std::min(available, opt.max_windows) : available;
  const int ranks = opt.comm ? opt.comm->size() : 1;
  const parallel::RowRange mine = parallel::split_rows(windows, ranks)[static_cast<size_t>(opt.comm ? opt.comm->rank() : 0)];
  const int64_t hidden = model.spec().hidden;
  const int64_t window_bytes = opt.ctx * hidden * static_cast<int64_t>(sizeof(float));
  const int64_t per_chunk = std::clamp<int64_t>(opt.hidden_budget_bytes / window_bytes, 1, std::max<int64_t>(1, mine.size()));
  const int64_t per_batch = std::clamp<int64_t>(opt.batch_tokens / opt.ctx, 1, per_chunk);
  const int n_blocks = static_cast<int>(model.spec().n_layers);

  spdlog::info("perplexity: {} windows of {} tokens ({} of the stream's {} tokens), {} window(s) per chunk, {} per "
               "forward call{}", windows, opt.ctx, windows * opt.ctx, ids.size(), per_chunk, per_batch,
               ranks > 1 ? fmt::format(", {} ranks ({} windows on rank 0)", ranks, mine.size()) : "");
  // Progress in units of one window through one block; a window's lm_head +
  // NLL counts as many units as its weight count is of a block's (it is 30
  // blocks' worth for gemma-3's 262k vocabulary), so the ETA holds across phases.
  const model::ModelSpec& s = model.spec();
  const int64_t q = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim;
  const int64_t block_params = s.hidden * (2 * q + 2 * kv) + 3 * s.hidden * s.intermediate;
  const int64_t head_units = std::max<int64_t>(1, s.hidden * s.vocab / std::max<int64_t>(1, block_params));
  Timer timer;
  Progress progress("eval", mine.size() * (n_blocks + head_units), "window-blocks");
  // Each window's NLL summed in token order; the windows' sums are then added
  // in window order on every rank, so the result is the same for any rank or
  // thread count.
  std::vector<double> window_nll(static_cast<size_t>(mine.size()), 0.0);
  std::vector<double> nll(static_cast<size_t>(opt.ctx - 1));
  const model::Model::BufferReuse reuse(model);
  for (int64_t c0 = mine.begin; c0 < mine.end; c0 += per_chunk) {
    const int64_t nc = std::min(per_chunk, mine.end - c0);
    const auto chunk_ids = ids.subspan(static_cast<size_t>(c0 * opt.ctx), static_cast<size_t>(nc * opt.ctx));
    Tensor h = model.embed(chunk_ids);
    for (int b = 0; b < n_blocks; ++b) {
      const model::BlockWeights w = model.load_block(b);
      for (int64_t w0 = 0; w0 < nc; w0 += per_batch) {
        const int64_t nb = std::min(per_batch, nc - w0);
        const std::vector<int64_t> seq_lens(static_cast<size_t>(nb), opt.ctx);
        Tensor view = h.slice_rows(w0 * opt.ctx, (w0 + nb) * opt.ctx);
        model.forward_block(w, b, view, seq_lens);
        progress.advance(nb);
      }
    }
    for (int64_t i = 0; i < nc; ++i) {
      const auto targets = chunk_ids.subspan(static_cast<size_t>(i * opt.ctx + 1), static_cast<size_t>(opt.ctx - 1));
      model.token_nll(h.slice_rows(i * opt.ctx, (i + 1) * opt.ctx - 1), targets, nll);
      for (double v : nll) window_nll[static_cast<size_t>(c0 - mine.begin + i)] += v;
      progress.advance(head_units);
    }
  }
  progress.finish();
  std::vector<double> all_nll = window_nll;
  if (opt.comm && ranks > 1) {  // rank r holds windows split_rows(…)[r]: rank order is window order
    const auto bytes = std::as_bytes(std::span<const double>(window_nll));
    all_nll.clear();
    for (const auto& part : opt.comm->allgather({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()})) {
      const size_t at = all_nll.size();
      all_nll.resize(at + part.size() / sizeof(double));
      std::memcpy(all_nll.data() + at, part.data(), part.size());
    }
  }
  double nll_sum = 0;
  for (double v : all_nll) nll_sum += v;

  PerplexityResult r;
  r.stream_tokens = static_cast<int64_t>(ids.size());
  r.windows = windows;
  r.predicted_tokens = windows * (opt.ctx - 1);
  r.mean_nll = nll_sum / static_cast<double>(r.predicted_tokens);
  r.ppl = std::exp(r.mean_nll);
  r.seconds = timer.seconds();
  r.tokens_per_s = static_cast<double>(windows * opt.ctx) / std::max(r.seconds, 1e-9);
  MACA_CHECK(std::isfinite(r.ppl), "perplexity is not finite (mean NLL {}): the model produced non-finite logits",
             r.mean_nll);
  return r;
}

}  // namespace maca::eval
