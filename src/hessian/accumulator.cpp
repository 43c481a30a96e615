#include "hessian/accumulator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>

#include "backend/context.h"
#include "backend/ops.h"
#include "core/error.h"
#include "hessian/fixed_point.h"

namespace maca::hessian {
namespace {
constexpr int64_t kTileWords = 2 * Accumulator::kTile * Accumulator::kTile;  // hi plane + lo plane
constexpr int64_t kStrip = 4;  // output tiles per BLAS call
}  // namespace

Accumulator::Accumulator(backend::Context& ctx, int64_t n, Precision precision, bool with_d)
    : ctx_(&ctx),
      n_(n), tiles_((n + kTile - 1) / kTile), precision_(precision), with_d_(with_d) {
  MACA_ASSERT(n > 0, "Accumulator needs n > 0, got {}", n);
  MACA_ASSERT(ctx.device().is_cpu(), "Accumulator: host statistics with a {} context", ctx.device().str());
  h_tile_.assign(static_cast<size_t>(tiles_ * tiles_), -1);
  int64_t offset = 0;
  for (int64_t i = 0; i < tiles_; ++i)
    for (int64_t j = i; j < tiles_; ++j, offset += kTileWords) h_tile_[static_cast<size_t>(i * tiles_ + j)] = offset;
  d_offset_ = offset;
  if (with_d) offset += tiles_ * tiles_ * kTileWords;
  w_offset_ = offset;
  words_.assign(static_cast<size_t>(offset + 3), 0);  // Σw (hi, lo) and the number of units added
  for (int64_t ti = 0; ti < tiles_; ++ti)
    for (int64_t tj = ti; tj < tiles_; tj += kStrip) strips_.push_back({true, ti, tj, std::min(kStrip, tiles_ - tj)});
  if (with_d)
    for (int64_t ti = 0; ti < tiles_; ++ti)
      for (int64_t tj = 0; tj < tiles_; tj += kStrip) strips_.push_back({false, ti, tj, std::min(kStrip, tiles_ - tj)});
}

int64_t Accumulator::n() const { return n_; }

double Accumulator::sum_weight() const { return fixed_point::value(words_[w_offset_], words_[w_offset_ + 1]); }

std::span<int64_t> Accumulator::raw() { return words_; }

void Accumulator::add(const Tensor& x, std::span<const int64_t> unit_rows, std::span<const float> row_weight,
                      const Tensor* x_fp, std::span<const float> unit_alpha) {
  MACA_ASSERT(x.dtype() == DType::F32 && x.device().is_cpu() && x.ndim() == 2 && x.dim(1) == n_,
              "Accumulator::add: x must be host f32 [rows, {}], got {}", n_, x.str());
  const int64_t rows = x.dim(0);
  MACA_ASSERT(row_weight.empty() || static_cast<int64_t>(row_weight.size()) == rows,
              "Accumulator::add: {} row weights for {} rows", row_weight.size(), rows);
  MACA_ASSERT(with_d_ == (x_fp != nullptr), "Accumulator::add: x_fp must be given iff D is accumulated");
  if (x_fp)
    MACA_ASSERT(x_fp->dtype() == DType::F32 && x_fp->device().is_cpu() && x_fp->shape() == x.shape(),
                "Accumulator::add: x_fp {} does not match x {}", x_fp->str(), x.str());
  for (float w : row_weight)
    MACA_CHECK(std::isfinite(w) && w >= 0, "calibration row weight {} is not a finite non-negative number", w);
  const std::vector<int64_t> whole{rows};
  if (unit_rows.empty()) unit_rows = whole;
  MACA_ASSERT(std::accumulate(unit_rows.begin(), unit_rows.end(), int64_t{0}) == rows,
              "Accumulator::add: units cover a different row count than x {}", x.str());
  MACA_ASSERT(unit_alpha.empty() || unit_alpha.size() == unit_rows.size(),
              "Accumulator::add: {} unit factors for {} units", unit_alpha.size(), unit_rows.size());

  const std::vector<float> ones(row_weight.empty() ? static_cast<size_t>(rows) : 0, 1.0f);
  const float* w = row_weight.empty() ? ones.data() : row_weight.data();
  std::vector<float> xq32, dx32;
  std::vector<double> xq64, dx64;
  int64_t r0 = 0;
  for (size_t u = 0; u < unit_rows.size(); ++u) {
    const int64_t len = unit_rows[u];
    const float* xs = x.data<float>() + r0 * n_;
    const float* fs = x_fp ? x_fp->data<float>() + r0 * n_ : nullptr;
    const double alpha = unit_alpha.empty() ? 1.0 : unit_alpha[u];
    if (precision_ == Precision::F32)
      add_unit(xs, fs, w + r0, alpha, len, xq32, dx32);
    else
      add_unit(xs, fs, w + r0, alpha, len, xq64, dx64);
    r0 += len;
  }
}

// One unit: H += Σ_r (√w_r x_r)(√w_r x_r)ᵀ and D += Σ_r (α√w_r Δ_r)(√w_r x_r)ᵀ
// (D[i][j] = Σ_r w_r Δ[r][i] x[r][j], Δ = x_fp − x): fixed strips of output
// tiles, one single-threaded BLAS call each in T, then added exactly.
template <class T>
void Accumulator::add_unit(const float* x, const float* x_fp, const float* w, double alpha,
                           int64_t rows, std::vector<T>& xq, std::vector<T>& dx) {
  if (rows == 0) return;
  double unit_weight = 0;
  for (int64_t r = 0; r < rows; ++r) unit_weight += w[r];
  MACA_CHECK(fixed_point::add(unit_weight, words_[w_offset_], words_[w_offset_ + 1]),
             "a calibration sequence's row weights sum to {}, outside the exact-sum range", unit_weight);
  words_[w_offset_ + 2] += 1;

  xq.resize(static_cast<size_t>(rows * n_));
  dx.resize(x_fp ? xq.size() : 0);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const T sw = static_cast<T>(std::sqrt(static_cast<double>(w[r])));
    const T swa = static_cast<T>(alpha * std::sqrt(static_cast<double>(w[r])));
    for (int64_t i = 0; i < n_; ++i) xq[r * n_ + i] = sw * static_cast<T>(x[r * n_ + i]);
    if (x_fp)
      for (int64_t i = 0; i < n_; ++i)
        dx[r * n_ + i] = swa * (static_cast<T>(x_fp[r * n_ + i]) - static_cast<T>(x[r * n_ + i]));
  }

  std::atomic<bool> out_of_range{false};
  const int64_t ldb = kStrip * kTile;
#pragma omp parallel
  {
    std::vector<T> buf(static_cast<size_t>(kTile * ldb));
#pragma omp for schedule(dynamic)
    for (size_t t = 0; t < strips_.size(); ++t) {
      const Strip& st = strips_[t];
      const int64_t i0 = st.ti * kTile, j0 = st.tj0 * kTile;
      const int64_t ni = std::min(kTile, n_ - i0), nj = std::min(st.ntiles * kTile, n_ - j0);
      backend::gemm(*ctx_, true, false, ni, nj, rows, T(1), (st.is_h ? xq.data() : dx.data()) + i0, n_,
                    xq.data() + j0, n_, T(0), buf.data(), ldb);
      bool ok = true;
      for (int64_t k = 0; k < st.ntiles; ++k) {
        const int64_t tj = st.tj0 + k, cols = std::min(kTile, n_ - tj * kTile);
        const bool diag = st.is_h && tj == st.ti;
        int64_t* hi = words_.data() +
                      (st.is_h ? h_tile_[st.ti * tiles_ + tj] : d_offset_ + (st.ti * tiles_ + tj) * kTileWords);
        int64_t* lo = hi + kTile * kTile;
        for (int64_t i = 0; i < ni; ++i)
          for (int64_t j = diag ? i : 0; j < cols; ++j)
            ok &= fixed_point::add(static_cast<double>(buf[i * ldb + k * kTile + j]), hi[i * kTile + j],
                                   lo[i * kTile + j]);
      }
      if (!ok) out_of_range = true;
    }
  }
  MACA_CHECK(!out_of_range, "a calibration sequence's statistics Σ w x xᵀ leave the exact-sum range (|value| > "
             "{:g}, or not finite): the layer's input activations are non-finite or implausibly large",
             fixed_point::kMaxAbs);
}

double Accumulator::value(const int64_t* tile, int64_t at) const {
  return fixed_point::value(tile[at], tile[at + kTile * kTile]);
}

Tensor Accumulator::finalize_h() const {
  MACA_CHECK(words_[w_offset_ + 2] <= fixed_point::kMaxTerms,
             "{} calibration sequences exceed the {} the exact statistics sums hold; use fewer, longer sequences",
             words_[w_offset_ + 2], fixed_point::kMaxTerms);
  Tensor out = Tensor::empty({n_, n_});
  float* o = out.data<float>();
  const double sw = sum_weight(), scale = sw > 0 ? 2.0 / sw : 0.0;
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t j = i; j < n_; ++j) {
      const int64_t* tile = words_.data() + h_tile_[(i / kTile) * tiles_ + j / kTile];
      o[i * n_ + j] = o[j * n_ + i] = static_cast<float>(value(tile, (i % kTile) * kTile + j % kTile) * scale);
    }
  return out;
}

Tensor Accumulator::finalize_d() const {
  if (!with_d_) return {};
  Tensor out = Tensor::empty({n_, n_});
  float* o = out.data<float>();
  const double sw = sum_weight(), scale = sw > 0 ? 2.0 / sw : 0.0;
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t j = 0; j < n_; ++j) {
      const int64_t* tile = words_.data() + d_offset_ + ((i / kTile) * tiles_ + j / kTile) * kTileWords;
      o[i * n_ + j] = static_cast<float>(value(tile, (i % kTile) * kTile + j % kTile) * scale);
    }
  return out;
}

}  // namespace maca::hessian
