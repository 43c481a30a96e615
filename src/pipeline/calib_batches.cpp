#include "pipeline/calib_batches.h"

#include <algorithm>

#include "core/log.h"
#include "parallel/partition.h"

namespace maca::pipeline {

int64_t stream_bytes(int64_t tokens, int64_t hidden, bool with_fp) {
  return 4 * tokens * hidden * (with_fp ? 2 : 1);
}

bool streams_exceed(int64_t tokens, int64_t hidden, bool with_fp, double max_resident_gb) {
  return max_resident_gb > 0 &&
         static_cast<double>(stream_bytes(tokens, hidden, with_fp)) > max_resident_gb * double(1LL << 30);
}

StreamPlan plan_streams(int64_t longest, int64_t hidden, bool with_fp, int64_t batch_tokens, double max_resident_gb,
                        StreamForm overflow, bool exceeds) {
  StreamPlan plan;
  plan.batch_tokens = batch_tokens;
  if (!exceeds) return plan;
  const auto per_token = static_cast<double>(stream_bytes(1, hidden, with_fp));
  const auto fit = static_cast<int64_t>(max_resident_gb * double(1LL << 30) / per_token);
  plan.form = overflow;
  if (batch_tokens == 0) plan.batch_tokens = std::max(fit, longest);
  if (plan.batch_tokens > fit)
    spdlog::warn("calib.max_resident_gb = {:g}: one batch of {} tokens holds {:.2f} GiB of f32 streams while it is "
                 "forwarded (a batch holds at least one whole sequence of up to {} tokens); lower calib.batch_tokens "
                 "or raise the limit", max_resident_gb, plan.batch_tokens,
                 per_token * static_cast<double>(plan.batch_tokens) / double(1LL << 30), longest);
  return plan;
}

std::vector<CalibBatch> make_calib_batches(const model::Model& model, const calib::CalibSet& set,
                                           const StreamPlan& plan, bool with_fp,
                                           const std::function<double(int64_t)>& seq_alpha) {
  const int64_t batch_tokens = plan.batch_tokens;
  std::vector<CalibBatch> batches;
  std::vector<int32_t> tokens;
  backend::Context& ctx = model.context();
  auto close_batch = [&] {
    if (tokens.empty()) return;
    CalibBatch& b = batches.back();
    Tensor x = model.embed(tokens);
    if (with_fp) b.fp = StoredStream(ctx, ctx.clone(x), plan.form, plan.spill);
    b.q = StoredStream(ctx, std::move(x), plan.form, plan.spill);
    tokens.clear();
  };
  for (size_t s = 0; s < set.sequences.size(); ++s) {
    const auto& seq = set.sequences[s].tokens;
    const auto len = static_cast<int64_t>(seq.size());
    const bool full = batch_tokens > 0 && !tokens.empty() &&
                      static_cast<int64_t>(tokens.size()) + len > batch_tokens;
    if (batches.empty() || full) {
      close_batch();
      batches.emplace_back();
    }
    CalibBatch& b = batches.back();
    b.seq_lens.push_back(len);
    if (seq_alpha) b.seq_alpha.push_back(static_cast<float>(seq_alpha(set.sequences[s].index)));
    for (int64_t t = 0; t < len; ++t) b.row_weight.push_back(static_cast<float>(set.row_weight(s, t)));
    tokens.insert(tokens.end(), seq.begin(), seq.end());
  }
  close_batch();
  return batches;
}

calib::CalibSet local_shard(const calib::CalibSet& set, int rank, int ranks) {
  if (ranks == 1) return set;
  std::vector<int64_t> lengths;
  for (const auto& s : set.sequences) lengths.push_back(static_cast<int64_t>(s.tokens.size()));
  const std::vector<int> owner = parallel::shard_by_tokens(lengths, ranks);
  calib::CalibSet out;
  out.position_weight = set.position_weight;
  for (size_t s = 0; s < set.sequences.size(); ++s)
    if (owner[s] == rank) out.sequences.push_back(set.sequences[s]);
  return out;
}

void forward_streams(const model::Model& model, int b, const model::BlockWeights& w, const model::BlockWeights& fp_w,
                     std::vector<CalibBatch>& batches) {
  backend::Context& ctx = model.context();
  const model::Model::BufferReuse reuse(model);
  for (CalibBatch& batch : batches) {
    for (auto [stream, weights] : {std::pair{&batch.fp, &fp_w}, std::pair{&batch.q, &w}}) {
      if (!stream->defined()) continue;
      Tensor x = stream->take(ctx);
      model.forward_block(*weights, b, x, batch.seq_lens);
      stream->store(ctx, std::move(x));
    }
  }
}

int64_t activation_bytes(const std::vector<CalibBatch>& batches) {
  int64_t bytes = 0;
  for (const auto& b : batches) bytes += b.q.resident_bytes() + b.fp.resident_bytes();
  return bytes;
}

}  // namespace maca::pipeline
