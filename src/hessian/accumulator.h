// Per-linear-group second-order statistics (algorithms.md §2–4):
//   H = Σ_r w_r x_r x_rᵀ / Σ_r w_r · 2        (x_r: rows of the layer input)
//   D = Σ_r w_r (x_f,r − x_r) x_rᵀ / Σ_r w_r · 2   (asymmetric methods only)
// with per-row sample weights w_r from the calibration set (MaCa position
// weights ω(t) and per-sequence 1/L_s normalization; 1 for plain GPTQ).
// Rows are scaled by √w_r before the Gram update, so weighting costs nothing.
// Sums are kept raw (sum_weight() alongside) so distributed ranks can
// all-reduce them before finalize().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"

namespace maca::hessian {

enum class Precision { F32, F64 };

class Accumulator {
 public:
  // n: input features; with_d: also accumulate D (needs the full-precision rows).
  Accumulator(int64_t n, Precision precision, bool with_d);

  // x: [rows, n] F32 host rows of the (quantized-stream) input; row_weight:
  // [rows] (empty span: all 1); x_fp: [rows, n] rows of the full-precision
  // stream (required iff with_d).
  void add(const Tensor& x, std::span<const float> row_weight, const Tensor* x_fp = nullptr);

  int64_t n() const;
  double sum_weight() const;
  // Raw sums, for an all-reduce; F64 or F32 host buffers of n*n values.
  void* raw_h();
  void* raw_d();
  void set_sum_weight(double w);

  // H (and D) as F32 [n, n], scaled by 2 / sum_weight.
  Tensor finalize_h() const;
  Tensor finalize_d() const;  // undefined Tensor without D

 private:
  template <class T>
  void add_typed(const Tensor& x, std::span<const float> row_weight, const Tensor* x_fp);
  Tensor finalize(const void* raw, bool symmetrize) const;

  int64_t n_;
  Precision precision_;
  bool with_d_;
  double sum_weight_ = 0;
  // Raw sums in `precision_` (float or double) n×n each; H holds only its
  // upper triangle until finalize_h().
  std::vector<float> h32_, d32_;
  std::vector<double> h64_, d64_;
};

}  // namespace maca::hessian
