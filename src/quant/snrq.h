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
// the block the sum is taken column by column (kernels/shared/snrq_rows.h,
// whose row functions both backends run).
#pragma once

#include <cstdint>
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
// The column order (diag(H) ascending) and factors SNRQ decodes with.
PrepRequest snrq_request(const SnrqOptions& opt);

// α_s of calibration sequence `index`: a ~ Beta(β, β) drawn from a counter-based
// generator keyed by (seed, index), α_s = min(a, 1 − a). The same on every
// machine (no library distribution).
double sample_sequence_alpha(uint64_t seed, int64_t index, double beta);

// The α a layer is rounded with, and its source for report.json.
std::pair<double, std::string> layer_alpha(const SnrqOptions& opt, const LayerSite& site);

// How a method decodes a layer's rows: greedy (snrq) or the bounded search
// with `beams` beams (ksnrq), and how rows are split. On the CPU the rows go
// in tiles of tile_rows, at most `parallel` at once (0: the threads); on a
// device in chunks of device_rows (0: the whole slice), each a multiple of
// tile_rows. Every GEMM and solve that mixes rows works per tile of tile_rows
// rows (a divisor of kRowTile) counted from the layer's first row, so a row's
// codes never depend on the chunking, the threads or the rank split.
struct DecodePlan {
  bool greedy = true;
  int64_t beams = 1;
  int64_t tile_rows = kRowTile;
  int parallel = 0;
  int64_t device_rows = 0;
};

// Rounds W with the statistics prepared for snrq_request and the plan's decoder, all numeric work
// through ctx's ops on ctx's device (backend/ops.h: snrq_block, snrq_descent,
// snrq_alpha_terms, with the GEMMs, solves and permutations of the other rounders).
QuantizedLinear snrq_round(backend::Context& ctx, const Tensor& W, const PreparedStats& prep, const LayerSite& site,
                           const QuantOptions& grid, const SnrqOptions& opt, const char* method,
                           const DecodePlan& plan);

}  // namespace maca::quant
