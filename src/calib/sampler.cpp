#include "calib/sampler.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"

namespace maca::calib {
namespace {

// Uniform in [0, n]: rejection on the low end so every value is equally likely.
uint64_t bounded_draw(std::mt19937_64& rng, uint64_t n) {
  if (n == UINT64_MAX) return rng();
  const uint64_t range = n + 1;
  const uint64_t reject_below = (0 - range) % range;  // 2^64 mod range
  uint64_t x;
  do x = rng();
  while (x < reject_below);
  return x % range;
}

CalibSequence crop(const std::vector<int32_t>& stream, int64_t len, std::mt19937_64& rng, double weight) {
  const auto start = static_cast<int64_t>(bounded_draw(rng, static_cast<uint64_t>(std::ssize(stream) - len)));
  return {std::vector<int32_t>(stream.begin() + start, stream.begin() + start + len), weight};
}

// β scaled to sum 1 (uniform when empty).
std::vector<double> normalized_beta(const std::vector<int64_t>& lengths, const std::vector<double>& weights) {
  if (weights.empty()) return std::vector<double>(lengths.size(), 1.0 / static_cast<double>(lengths.size()));
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> beta(weights);
  for (double& b : beta) b /= sum;
  return beta;
}

CalibSet sample_fixed(const std::vector<int32_t>& stream, const SamplerOptions& opt, std::mt19937_64& rng) {
  CalibSet set;
  for (int64_t i = 0; i < opt.n_samples; ++i) set.sequences.push_back(crop(stream, opt.seq_len, rng, 1.0));
  return set;
}

CalibSet sample_prefix(const std::vector<int32_t>& stream, const SamplerOptions& opt, std::mt19937_64& rng) {
  CalibSet set;
  for (int64_t i = 0; i < opt.n_samples; ++i) set.sequences.push_back(crop(stream, opt.lengths.back(), rng, 1.0));
  if (opt.normalize == "sequence") set.position_weight = prefix_position_weights(opt.lengths, opt.weights);
  return set;
}

CalibSet sample_crops(const std::vector<int32_t>& stream, const SamplerOptions& opt, std::mt19937_64& rng) {
  const auto k_count = static_cast<double>(opt.lengths.size());
  const double n = static_cast<double>(opt.n_samples);
  const double budget = n * static_cast<double>(opt.lengths.back());
  const std::vector<double> beta = normalized_beta(opt.lengths, opt.weights);
  CalibSet set;
  for (size_t k = 0; k < opt.lengths.size(); ++k) {
    const auto len = static_cast<double>(opt.lengths[k]);
    const auto count = std::max<int64_t>(1, std::llround(budget / (k_count * len)));
    const double weight =
        opt.normalize == "sequence" ? beta[k] * n * k_count / (static_cast<double>(count) * len) : 1.0;
    for (int64_t i = 0; i < count; ++i) set.sequences.push_back(crop(stream, opt.lengths[k], rng, weight));
  }
  return set;
}

}  // namespace

void validate(const SamplerOptions& opt) {
  if (opt.kind != "fixed" && opt.kind != "maca")
    MACA_THROW(ConfigError, "calib.sampler: unknown sampler '{}'; use fixed|maca", opt.kind);
  if (opt.n_samples <= 0) MACA_THROW(ConfigError, "calib.n_samples: must be positive, got {}", opt.n_samples);
  if (opt.seq_len <= 0) MACA_THROW(ConfigError, "calib.seq_len: must be positive, got {}", opt.seq_len);
  if (opt.mode != "prefix" && opt.mode != "crops")
    MACA_THROW(ConfigError, "calib.maca.mode: unknown mode '{}'; use prefix|crops", opt.mode);
  if (opt.normalize != "sequence" && opt.normalize != "token")
    MACA_THROW(ConfigError, "calib.maca.normalize: unknown value '{}'; use sequence|token", opt.normalize);
  const auto& l = opt.lengths;
  if (l.empty()) MACA_THROW(ConfigError, "calib.maca.lengths: needs at least one length, e.g. [128, 256, 512]");
  for (size_t k = 0; k < l.size(); ++k)
    if (l[k] <= 0 || (k > 0 && l[k] <= l[k - 1]))
      MACA_THROW(ConfigError, "calib.maca.lengths: must be positive and strictly increasing, got [{}]",
                 fmt::join(l, ", "));
  const auto& w = opt.weights;
  if (!w.empty()) {
    if (w.size() != l.size())
      MACA_THROW(ConfigError, "calib.maca.weights: {} weights for {} lengths; give one per length or none (uniform)",
                 w.size(), l.size());
    for (double b : w)
      if (!std::isfinite(b) || b < 0)
        MACA_THROW(ConfigError, "calib.maca.weights: must be finite and >= 0, got [{}]", fmt::join(w, ", "));
    if (std::accumulate(w.begin(), w.end(), 0.0) <= 0)
      MACA_THROW(ConfigError, "calib.maca.weights: must have a positive sum, got [{}]", fmt::join(w, ", "));
  }
  if (opt.kind == "maca" && opt.seq_len != l.back())
    MACA_THROW(ConfigError,
               "calib.seq_len: is {} but the maca sampler's longest length (calib.maca.lengths) is {}; "
               "set calib.seq_len={} (or change the lengths)",
               opt.seq_len, l.back(), l.back());
}

int64_t longest_crop(const SamplerOptions& opt) { return opt.kind == "maca" ? opt.lengths.back() : opt.seq_len; }

std::vector<double> prefix_position_weights(const std::vector<int64_t>& lengths, const std::vector<double>& weights) {
  const std::vector<double> beta = normalized_beta(lengths, weights);
  const auto k_count = static_cast<double>(lengths.size());
  std::vector<double> omega(static_cast<size_t>(lengths.back()), 0.0);
  // Add each length's β_k·K/ℓ_k to positions 1..ℓ_k.
  for (size_t k = 0; k < lengths.size(); ++k) {
    const double add = beta[k] * k_count / static_cast<double>(lengths[k]);
    for (int64_t t = 0; t < lengths[k]; ++t) omega[static_cast<size_t>(t)] += add;
  }
  return omega;
}

CalibSet sample_calibration(const std::vector<int32_t>& stream, const SamplerOptions& opt) {
  validate(opt);
  const int64_t need = longest_crop(opt);
  if (std::ssize(stream) < need)
    MACA_THROW(Error,
               "the calibration data has {} tokens but the {} sampler needs at least {} (its longest crop); "
               "use a larger calibration file or shorter calib.seq_len / calib.maca.lengths",
               stream.size(), opt.kind, need);
  std::mt19937_64 rng(opt.seed);
  CalibSet set = opt.kind == "fixed"      ? sample_fixed(stream, opt, rng)
                 : opt.mode == "prefix" ? sample_prefix(stream, opt, rng)
                                        : sample_crops(stream, opt, rng);
  for (size_t s = 0; s < set.sequences.size(); ++s) set.sequences[s].index = static_cast<int64_t>(s);
  return set;
}

}  // namespace maca::calib
