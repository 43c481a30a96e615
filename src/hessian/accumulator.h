// Per-linear-group second-order statistics (algorithms.md §2–4):
//   H = Σ_r w_r x_r x_rᵀ / Σ_r w_r · 2        (x_r: rows of the layer input)
//   D = Σ_r w_r α_r (x_f,r − x_r) x_rᵀ / Σ_r w_r · 2   (asymmetric methods only;
//       α_r the per-sequence α_s of SNRQ's sample mode, else 1)
// with per-row sample weights w_r from the calibration set (MaCa position
// weights ω(t) and per-sequence 1/L_s normalization; 1 for plain GPTQ).
//
// Deterministic by construction. Rows come in units (one calibration
// sequence each); a unit's contribution is computed in `Precision` with a
// fixed tiling by the backend op gram_fixed_point, so it depends only on the
// unit's rows. Contributions are then added EXACTLY, as fixed-point integers
// (kernels/shared/fixed_point.h), so the sums do not depend on the order in
// which units arrive, on which rank holds which unit, or on the thread count:
// any split of the same units over ranks and threads gives the same bits,
// and the all-reduce of the words is an integer sum. The rows and the words
// live on the context's device (a GPU keeps the statistics resident); the
// per-unit products cost about the flops of one big syrk, the conversion
// n²/2 integer adds per unit.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "backend/context.h"
#include "core/tensor.h"
#include "kernels/shared/fixed_point.h"

namespace maca::hessian {

enum class Precision { F32, F64 };

class Accumulator {
 public:
  // Output tile edge of the fixed-point storage and of the products' tiling.
  static constexpr int64_t kTile = fixed_point::kTile;

  // n: input features; with_d: also accumulate D (needs the full-precision
  // rows). ctx must outlive the Accumulator.
  Accumulator(backend::Context& ctx, int64_t n, Precision precision, bool with_d);

  // x: [rows, n] F32 rows of the (quantized-stream) input on the context's
  // device, made of units of `unit_rows` rows each (sum = rows; empty: all
  // rows are one unit); row_weight: [rows] host weights (empty span: all 1);
  // x_fp: [rows, n] rows of the full-precision stream (required iff with_d);
  // unit_alpha: one factor per unit on its D contribution (empty span: all
  // 1). Throws maca::Error when a unit's statistics leave the fixed-point
  // range (non-finite activations or |Σ w x xᵀ| > 2^36 within one unit).
  void add(const Tensor& x, std::span<const int64_t> unit_rows, std::span<const float> row_weight,
           const Tensor* x_fp = nullptr, std::span<const float> unit_alpha = {});
  void add(const Tensor& x, std::span<const float> row_weight, const Tensor* x_fp = nullptr) {
    add(x, {}, row_weight, x_fp);
  }

  int64_t n() const { return n_; }
  double sum_weight() const;
  // The raw sums as fixed-point integers, for an all-reduce (an integer sum:
  // exact, so its order does not matter): the tile words of H and D (I64 on
  // the context's device) and the host totals (Σw as hi/lo words, units).
  Tensor& tile_words() { return words_; }
  std::span<int64_t> totals() { return totals_; }

  // H (and D) as host F32 [n, n], scaled by 2 / sum_weight.
  Tensor finalize_h() const;
  Tensor finalize_d() const;  // undefined Tensor without D

 private:
  // One finalized matrix from its tiles (symmetric: H's upper tiles, mirrored).
  Tensor finalize(const Tensor& host_words, int64_t offset, bool symmetric) const;

  backend::Context* ctx_;
  int64_t n_, tiles_;  // tiles_: tiles per dimension
  Precision precision_;
  bool with_d_;
  Tensor words_;  // H's upper tiles, then D's tiles (fixed_point::tile_offset)
  int64_t d_offset_ = 0;
  std::array<int64_t, 3> totals_{};  // Σw (hi, lo) and the number of units added
};

}  // namespace maca::hessian
