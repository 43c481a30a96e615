// SNRQ's layer preparation, options and decoder interface (algorithms.md §4),
// shared by the greedy method (snrq.cpp) and the bounded search (ksnrq.cpp).
// Internal to the quant area.
//
// A layer is rounded in processing order: columns permuted by diag(H)
// ascending, H_π = L·Lᵀ (lower Cholesky of the damped, permuted H), target
// T = W + α·W·D·H_λ⁻¹ (permuted). With d_j = L_jj and L̃_ij = L_ij / d_j
// (i > j), a row's objective is ‖(t − q)·L‖² = Σ_j d_j² (c_j − q_j)² with the
// conditional target c_j = t_j + Σ_{i>j} (t_i − q_i)·L̃_ij, so decoding runs
// from the last column to the first. Per block of block_size columns from the
// right, the already-decoded columns contribute one GEMM (the tail); inside
// the block the sum is taken column by column (conditional_target).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "backend/context.h"
#include "config/config.h"
#include "core/quantized.h"
#include "quant/method.h"
#include "quant/quantize.h"

namespace maca::quant {

enum class AlphaMode { Fixed, Sample, ClosedForm };

// quant.snrq.* (read by snrq and ksnrq).
struct SnrqOptions {
  AlphaMode mode = AlphaMode::Fixed;
  double alpha = 0.25;  // fixed: the α; closed_form: the reference value of block 1 (and of a type without α*)
  double beta = 5;      // sample: a ~ Beta(β, β), α_s = min(a, 1 − a)
  uint64_t seed = 0;    // sample: with the sequence index, fixes α_s (calib.seed)
  int64_t block_size = 128;
  int cd_passes = 0;  // coordinate-descent passes after decoding
};
void declare_snrq_options(config::Schema& schema);
SnrqOptions read_snrq_options(const config::Config& cfg);
Needs snrq_needs(const SnrqOptions& opt);

// α_s of calibration sequence `index`: a ~ Beta(β, β) drawn from a counter-based
// generator keyed by (seed, index), α_s = min(a, 1 − a). The same on every
// machine (no library distribution).
double sample_sequence_alpha(uint64_t seed, int64_t index, double beta);

// The α a layer is rounded with, and its source for report.json.
std::pair<double, std::string> layer_alpha(const SnrqOptions& opt, const LayerSite& site);

// One tile's decoding problem, all in processing order.
struct SnrqTile {
  const double* t;  // [nr, n] target rows
  int64_t nr, n;
  const double* l;   // [n, n] lower Cholesky factor of H_π (row-major)
  const double* d2;  // [n] L_jj²
  const float* scales;  // group g of tile row r at [g·ldp + r]
  const int32_t* zeros;
  int64_t ldp;
  const int32_t* grp;  // [n] group of each position
  int maxq;
  int64_t block_size;
  uint8_t* codes;  // [nr, n] out
  double* score;   // [nr] out: Σ_j d_j² (c_j − q_j)²
};
using Decoder = std::function<void(backend::Context& ctx, const SnrqTile& tile)>;

// c_j = t_j + corr_j + Σ_{k=j+1}^{nb−1} e_k · lt_row[k], where e holds the
// block's residuals t − q, lt_row[k] = L̃[i1+k, i1+j] and corr_j the tail's
// contribution. One summation order for both decoders, so that the beam with
// K = 1 equals the greedy decoder bit for bit.
inline double conditional_target(double t, double corr, const double* e, const double* lt_row, int64_t j,
                                 int64_t nb) {
  double acc = corr;
  for (int64_t k = j + 1; k < nb; ++k) acc += e[k] * lt_row[k];
  return t + acc;
}

// The block's transposed normalized factor: out[j·nb + k] = L[i1+k, i1+j] / L[i1+j, i1+j]
// for k > j (0 elsewhere).
void block_lt(const double* l, int64_t n, int64_t i1, int64_t nb, double* out);

// corr [rows, nb] = e[:, i2:] · L[i2:, i1:i2], each column j divided by L_jj:
// the decoded tail's contribution to the block [i1, i2) (zero when i2 = n).
void tail_correction(backend::Context& ctx, const double* e, int64_t rows, int64_t lde, const double* l, int64_t n,
                     int64_t i1, int64_t i2, double* corr);

// Rounds W with SNRQ's preparation and `decode` on tiles of `tile_rows` rows
// (a divisor of kRowTile), at most `parallel` tiles at once.
QuantizedLinear snrq_round(backend::Context& ctx, const Tensor& W, const LayerStats& stats, const LayerSite& site,
                           const QuantOptions& grid, const SnrqOptions& opt, const char* method, const Decoder& decode,
                           int64_t tile_rows, int parallel);

}  // namespace maca::quant
