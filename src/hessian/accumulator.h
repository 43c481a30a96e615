// Per-linear-group second-order statistics (algorithms.md §2–4):
//   H = Σ_r w_r x_r x_rᵀ / Σ_r w_r · 2        (x_r: rows of the layer input)
//   D = Σ_r w_r α_r (x_f,r − x_r) x_rᵀ / Σ_r w_r · 2   (asymmetric methods only;
//       α_r the per-sequence α_s of SNRQ's sample mode, else 1)
// with per-row sample weights w_r from the calibration set (MaCa position
// weights ω(t) and per-sequence 1/L_s normalization; 1 for plain GPTQ).
//
// Deterministic by construction. Rows come in units (one calibration
// sequence each); a unit's contribution is computed in `Precision` with a
// fixed tiling (strips of kTile × kTile output tiles, one single-threaded BLAS
// call per strip and unit), so it depends only on the unit's rows. Contributions are
// then added EXACTLY, as fixed-point integers (hessian/fixed_point.h), so the
// sums do not depend on the order in which units arrive, on which rank holds
// which unit, or on the thread count: any split of the same units over ranks
// and threads gives the same bits, and the all-reduce of raw() is an integer
// sum. The per-unit products cost about the flops of one big syrk (plus the
// unused halves of the diagonal tiles); the conversion costs n²/2 integer
// adds per unit.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/context.h"
#include "core/tensor.h"

namespace maca::hessian {

enum class Precision { F32, F64 };

class Accumulator {
 public:
  // Output tile edge of the fixed-point storage and of the products' tiling.
  static constexpr int64_t kTile = 128;

  // n: input features; with_d: also accumulate D (needs the full-precision
  // rows). The products run with ctx's ops (which must outlive the
  // Accumulator); the rows and the fixed-point words are host memory, so ctx
  // is a CPU context until the accumulation becomes device-resident.
  Accumulator(backend::Context& ctx, int64_t n, Precision precision, bool with_d);

  // x: [rows, n] F32 host rows of the (quantized-stream) input, made of units
  // of `unit_rows` rows each (sum = rows; empty: all rows are one unit);
  // row_weight: [rows] (empty span: all 1); x_fp: [rows, n] rows of the
  // full-precision stream (required iff with_d); unit_alpha: one factor per
  // unit on its D contribution (empty span: all 1). Throws maca::Error when a
  // unit's statistics leave the fixed-point range (non-finite activations or
  // |Σ w x xᵀ| > 2^40 within one unit).
  void add(const Tensor& x, std::span<const int64_t> unit_rows, std::span<const float> row_weight,
           const Tensor* x_fp = nullptr, std::span<const float> unit_alpha = {});
  void add(const Tensor& x, std::span<const float> row_weight, const Tensor* x_fp = nullptr) {
    add(x, {}, row_weight, x_fp);
  }

  int64_t n() const;
  double sum_weight() const;
  // Every raw sum (H tiles, D tiles, Σw) as fixed-point integers, for an
  // all-reduce (integer sum: exact, so its order does not matter).
  std::span<int64_t> raw();

  // H (and D) as F32 [n, n], scaled by 2 / sum_weight.
  Tensor finalize_h() const;
  Tensor finalize_d() const;  // undefined Tensor without D

 private:
  template <class T>
  void add_unit(const float* x, const float* x_fp, const float* w, double alpha,
                int64_t rows, std::vector<T>& xq, std::vector<T>& dx);
  double value(const int64_t* tile, int64_t at) const;

  backend::Context* ctx_;
  int64_t n_, tiles_;  // tiles_: tiles per dimension
  Precision precision_;
  bool with_d_;
  // Fixed-point words: H's upper-triangle tiles (I <= J, row-major tile
  // order), then D's tiles (all I, J), then Σw; each tile kTile² hi words
  // followed by kTile² lo words.
  std::vector<int64_t> words_;
  std::vector<int64_t> h_tile_;  // offset of H tile (I, J) in words_, -1 below the diagonal
  // The products of one unit: strips of up to 4 output tiles of one tile row,
  // one BLAS call each (H's tiles J >= I, then D's); fixed by n and with_d.
  struct Strip {
    bool is_h;
    int64_t ti, tj0, ntiles;
  };
  std::vector<Strip> strips_;
  int64_t d_offset_ = 0, w_offset_ = 0;
};

}  // namespace maca::hessian
