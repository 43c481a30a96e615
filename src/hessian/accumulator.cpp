#include "hessian/accumulator.h"

#include <algorithm>
#include <cmath>

#include "backend/context.h"
#include "backend/ops.h"
#include "core/error.h"

namespace maca::hessian {
namespace {
// Rows per BLAS call: bounds the scaled copies of x (and x_fp − x).
constexpr int64_t kChunkRows = 4096;
}  // namespace

Accumulator::Accumulator(int64_t n, Precision precision, bool with_d) : n_(n), precision_(precision), with_d_(with_d) {
  MACA_ASSERT(n > 0, "Accumulator needs n > 0, got {}", n);
  const size_t nn = static_cast<size_t>(n * n);
  if (precision == Precision::F32) {
    h32_.assign(nn, 0.0f);
    if (with_d) d32_.assign(nn, 0.0f);
  } else {
    h64_.assign(nn, 0.0);
    if (with_d) d64_.assign(nn, 0.0);
  }
}

int64_t Accumulator::n() const { return n_; }
double Accumulator::sum_weight() const { return sum_weight_; }
void Accumulator::set_sum_weight(double w) { sum_weight_ = w; }

void* Accumulator::raw_h() { return precision_ == Precision::F32 ? static_cast<void*>(h32_.data()) : h64_.data(); }

void* Accumulator::raw_d() {
  if (!with_d_) return nullptr;
  return precision_ == Precision::F32 ? static_cast<void*>(d32_.data()) : d64_.data();
}

void Accumulator::add(const Tensor& x, std::span<const float> row_weight, const Tensor* x_fp) {
  MACA_ASSERT(x.dtype() == DType::F32 && x.device().is_cpu() && x.ndim() == 2 && x.dim(1) == n_,
              "Accumulator::add: x must be host f32 [rows, {}], got {}", n_, x.str());
  MACA_ASSERT(row_weight.empty() || static_cast<int64_t>(row_weight.size()) == x.dim(0),
              "Accumulator::add: {} row weights for {} rows", row_weight.size(), x.dim(0));
  MACA_ASSERT(with_d_ == (x_fp != nullptr), "Accumulator::add: x_fp must be given iff D is accumulated");
  if (x_fp)
    MACA_ASSERT(x_fp->dtype() == DType::F32 && x_fp->device().is_cpu() && x_fp->shape() == x.shape(),
                "Accumulator::add: x_fp {} does not match x {}", x_fp->str(), x.str());
  for (float w : row_weight)
    MACA_CHECK(std::isfinite(w) && w >= 0,
               "calibration row weight {} is not a finite "
               "non-negative number",
               w);
  if (precision_ == Precision::F32)
    add_typed<float>(x, row_weight, x_fp);
  else
    add_typed<double>(x, row_weight, x_fp);
}

// H += Σ_r (√w_r x_r)(√w_r x_r)ᵀ and D += Σ_r (√w_r Δ_r)(√w_r x_r)ᵀ, i.e.
// D[i][j] = Σ_r w_r Δ[r][i] x[r][j] with Δ = x_fp − x.
template <class T>
void Accumulator::add_typed(const Tensor& x, std::span<const float> row_weight, const Tensor* x_fp) {
  auto ctx = backend::Context::create(Device::cpu());
  T* h = static_cast<T*>(raw_h());
  T* d = static_cast<T*>(raw_d());
  const int64_t rows = x.dim(0);
  const float* xs = x.data<float>();
  const float* fs = x_fp ? x_fp->data<float>() : nullptr;
  std::vector<T> xq(static_cast<size_t>(std::min(rows, kChunkRows) * n_));
  std::vector<T> dx(fs ? xq.size() : 0);
  for (int64_t r0 = 0; r0 < rows; r0 += kChunkRows) {
    const int64_t nr = std::min(kChunkRows, rows - r0);
    for (int64_t r = 0; r < nr; ++r) {
      const double w = row_weight.empty() ? 1.0 : row_weight[static_cast<size_t>(r0 + r)];
      sum_weight_ += w;
      const T sw = static_cast<T>(std::sqrt(w));
      const float* xr = xs + (r0 + r) * n_;
      T* out = xq.data() + r * n_;
      for (int64_t i = 0; i < n_; ++i) out[i] = sw * static_cast<T>(xr[i]);
      if (fs) {
        const float* fr = fs + (r0 + r) * n_;
        T* dout = dx.data() + r * n_;
        for (int64_t i = 0; i < n_; ++i) dout[i] = sw * (static_cast<T>(fr[i]) - static_cast<T>(xr[i]));
      }
    }
    backend::gram_update(*ctx, n_, nr, T(1), xq.data(), n_, T(1), h, n_);
    if (fs) backend::gemm(*ctx, true, false, n_, n_, nr, T(1), dx.data(), n_, xq.data(), n_, T(1), d, n_);
  }
}

Tensor Accumulator::finalize(const void* raw, bool symmetrize) const {
  Tensor out = Tensor::empty({n_, n_});
  float* o = out.data<float>();
  const double scale = sum_weight_ > 0 ? 2.0 / sum_weight_ : 0.0;
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t j = 0; j < n_; ++j) {
      // H: only the upper triangle (j >= i) is accumulated.
      const int64_t src = symmetrize && j < i ? j * n_ + i : i * n_ + j;
      const double v =
          precision_ == Precision::F32 ? static_cast<const float*>(raw)[src] : static_cast<const double*>(raw)[src];
      o[i * n_ + j] = static_cast<float>(v * scale);
    }
  return out;
}

Tensor Accumulator::finalize_h() const {
  return finalize(precision_ == Precision::F32 ? static_cast<const void*>(h32_.data()) : h64_.data(), true);
}

Tensor Accumulator::finalize_d() const {
  if (!with_d_) return {};
  return finalize(precision_ == Precision::F32 ? static_cast<const void*>(d32_.data()) : d64_.data(), false);
}

}  // namespace maca::hessian
