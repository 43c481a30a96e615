#include "pipeline/calib_batches.h"

#include "parallel/partition.h"

namespace maca::pipeline {

std::vector<CalibBatch> make_calib_batches(const model::Model& model, const calib::CalibSet& set,
                                           int64_t batch_tokens, bool with_fp,
                                           const std::function<double(int64_t)>& seq_alpha) {
  std::vector<CalibBatch> batches;
  std::vector<int32_t> tokens;
  auto close_batch = [&] {
    if (tokens.empty()) return;
    CalibBatch& b = batches.back();
    b.q = model.embed(tokens);
    if (with_fp) b.fp = model.context().clone(b.q);
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

int64_t activation_bytes(const std::vector<CalibBatch>& batches) {
  int64_t bytes = 0;
  for (const auto& b : batches) bytes += static_cast<int64_t>(b.q.nbytes() + (b.fp.defined() ? b.fp.nbytes() : 0));
  return bytes;
}

}  // namespace maca::pipeline
