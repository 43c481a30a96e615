// A calibration set: token sequences plus the sample weights MaCa puts on
// their rows (algorithms.md §3, §6). Produced by the samplers (fixed, maca
// prefix|crops), consumed by the pipeline, which forwards the sequences and
// passes row_weights() to hessian::Accumulator::add.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace maca::calib {

struct CalibSequence {
  std::vector<int32_t> tokens;
  double weight = 1.0;  // per-sequence factor (e.g. β_k / (count_k · L_s) for crops)
  int64_t index = 0;    // position in the whole set (kept when ranks take shards; keys SNRQ's α_s)
};

struct CalibSet {
  std::vector<CalibSequence> sequences;
  // Per-position factor ω(t) (prefix mode; empty: all 1), indexed by 0-based
  // position; every sequence is at most this long when non-empty.
  std::vector<double> position_weight;

  int64_t total_tokens() const;
  // Weight of row t of sequence s: sequences[s].weight * ω(t).
  double row_weight(size_t s, int64_t t) const;
};

}  // namespace maca::calib
