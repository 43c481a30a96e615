// Calibration samplers (algorithms.md §3, §6): crops of the token stream and
// the row weights MaCa puts on them.
//
//  - fixed: n_samples crops of seq_len tokens (GPTQ's calibration), every
//    weight 1.
//  - maca, mode prefix: n_samples crops of ℓ_K = max(lengths) tokens and the
//    position weight ω(t) = Σ_{k: ℓ_k ≥ t} β_k·K/ℓ_k (t 1-based, β scaled to
//    sum 1), which equals averaging the per-sequence-normalized Hessians of
//    every prefix length ℓ_k. With the default Λ the first 128 positions
//    carry 38.75 % of the mass instead of 6.25 %.
//  - maca, mode crops: separate crops of every length from a token budget
//    B = n_samples·ℓ_K split equally over the K lengths:
//    count_k = max(1, round(B / (K·ℓ_k))). Each crop of length ℓ_k weighs
//    β_k·N·K / (count_k·ℓ_k) (N = n_samples), so length class k carries mass
//    N·K·β_k whatever its count, each sequence is normalized by its length,
//    and the total mass N·K equals the prefix mode's.
//  - normalize token (ablation): all weights 1 (no ω, no 1/L).
//
// For maca, calib.seq_len must equal ℓ_K: the sequence length is stated
// once, in the lengths, and a disagreeing seq_len is rejected rather than
// silently ignored.
//
// Crop starts are uniform over [0, stream − length], drawn from
// std::mt19937_64(seed) with a bounded draw of our own (not
// std::uniform_int_distribution, whose output differs between standard
// libraries), so a seed gives the same set everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calib/calib_set.h"

namespace maca::calib {

struct SamplerOptions {
  std::string kind = "fixed";                                  // calib.sampler: fixed|maca
  int64_t n_samples = 128;                                     // calib.n_samples
  int64_t seq_len = 2048;                                      // calib.seq_len
  uint64_t seed = 0;                                           // calib.seed
  std::string mode = "prefix";                                 // calib.maca.mode: prefix|crops
  std::vector<int64_t> lengths = {128, 256, 512, 1024, 2048};  // calib.maca.lengths Λ, strictly increasing
  std::vector<double> weights = {};                            // calib.maca.weights β (empty: uniform)
  std::string normalize = "sequence";                          // calib.maca.normalize: sequence|token
};

// Throws maca::ConfigError naming the offending key (calib.sampler,
// calib.n_samples, calib.seq_len, calib.maca.*) and the accepted values.
void validate(const SamplerOptions& opt);

// The longest crop the options ask for (seq_len for fixed, ℓ_K for maca).
int64_t longest_crop(const SamplerOptions& opt);

// ω(t) for t = 1..ℓ_K, stored 0-based (prefix mode, normalize sequence).
std::vector<double> prefix_position_weights(const std::vector<int64_t>& lengths, const std::vector<double>& weights);

// The calibration set `opt` describes, cropped from `stream`; deterministic
// in (stream, opt). Validates `opt`; throws maca::Error when the stream is
// shorter than the longest crop.
CalibSet sample_calibration(const std::vector<int32_t>& stream, const SamplerOptions& opt);

}  // namespace maca::calib
