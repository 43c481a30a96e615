// Next-token choice from one row of logits: greedy, or sampling with
// temperature / top-k / top-p / min-p (algorithms.md §5.4) from a
// counter-based stream keyed by (seed, step), so a sequence's draws depend
// only on its seed and how many tokens it has generated — not on the batch,
// the rank or the thread count.
#pragma once

#include <cstdint>
#include <span>

namespace maca::gen {

struct SamplingParams {
  double temperature = 0.6;  // 0: greedy (argmax, lowest id on ties)
  int64_t top_k = 20;        // keep the k most likely (ties with the k-th kept); 0: off
  double top_p = 0.95;       // keep the most likely tokens until their mass reaches p; 1: off
  double min_p = 0.0;        // drop tokens below min_p · (max probability); 0: off
};

// Filters in transformers' order (temperature, top-k, top-p, min-p, each on
// the distribution the previous one left), then draws by inverse CDF over the
// kept tokens sorted by probability (descending, id ascending), in fp64.
int32_t choose_token(std::span<const float> logits, const SamplingParams& p, uint64_t seed, int64_t step);

}  // namespace maca::gen
