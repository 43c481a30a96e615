#include "hessian/accumulator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "backend/ops.h"
#include "core/error.h"

namespace maca::hessian {

Accumulator::Accumulator(backend::Context& ctx, int64_t n, Precision precision, bool with_d)
    : ctx_(&ctx), n_(n), tiles_((n + kTile - 1) / kTile), precision_(precision), with_d_(with_d) {
  MACA_ASSERT(n > 0, "Accumulator needs n > 0, got {}", n);
  d_offset_ = fixed_point::tile_count(tiles_, true) * fixed_point::kTileWords;
  const int64_t words = d_offset_ + (with_d ? fixed_point::tile_count(tiles_, false) * fixed_point::kTileWords : 0);
  words_ = ctx.empty({words}, DType::I64);
  ctx.zero(words_.raw(), words_.nbytes());
}

double Accumulator::sum_weight() const { return fixed_point::value(totals_[0], totals_[1]); }

void Accumulator::add(const Tensor& x, std::span<const int64_t> unit_rows, std::span<const float> row_weight,
                      const Tensor* x_fp, std::span<const float> unit_alpha) {
  MACA_ASSERT(x.dtype() == DType::F32 && x.device() == ctx_->device() && x.ndim() == 2 && x.dim(1) == n_,
              "Accumulator::add: x must be f32 [rows, {}] on {}, got {}", n_, ctx_->device().str(), x.str());
  const int64_t rows = x.dim(0);
  MACA_ASSERT(row_weight.empty() || static_cast<int64_t>(row_weight.size()) == rows,
              "Accumulator::add: {} row weights for {} rows", row_weight.size(), rows);
  MACA_ASSERT(with_d_ == (x_fp != nullptr), "Accumulator::add: x_fp must be given iff D is accumulated");
  if (x_fp)
    MACA_ASSERT(x_fp->dtype() == DType::F32 && x_fp->device() == x.device() && x_fp->shape() == x.shape(),
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
  const std::span<const float> w = row_weight.empty() ? std::span<const float>(ones) : row_weight;
  const bool f64 = precision_ == Precision::F64;
  const int64_t max_rows = *std::max_element(unit_rows.begin(), unit_rows.end());
  const DType t = f64 ? DType::F64 : DType::F32;
  Tensor xq = ctx_->empty({max_rows, n_}, t), dx = x_fp ? ctx_->empty({max_rows, n_}, t) : Tensor();
  const auto* xs = x.device_data<float>();
  const auto* fs = x_fp ? x_fp->device_data<float>() : nullptr;
  auto* words = words_.device_data<int64_t>();
  int64_t r0 = 0;
  for (size_t u = 0; u < unit_rows.size(); ++u) {
    const int64_t len = unit_rows[u];
    if (len == 0) continue;
    const std::span<const float> wu = w.subspan(static_cast<size_t>(r0), static_cast<size_t>(len));
    double unit_weight = 0;
    for (const float v : wu) unit_weight += v;
    MACA_CHECK(fixed_point::add(unit_weight, totals_[0], totals_[1]),
               "a calibration sequence's row weights sum to {}, outside the exact-sum range", unit_weight);
    totals_[2] += 1;
    backend::weighted_rows(*ctx_, {.x = xs + r0 * n_,
                                   .x_fp = fs ? fs + r0 * n_ : nullptr,
                                   .w = wu,
                                   .alpha = unit_alpha.empty() ? 1.0 : unit_alpha[u],
                                   .rows = len,
                                   .n = n_,
                                   .f64 = f64,
                                   .xq = xq.raw(),
                                   .dx = x_fp ? dx.raw() : nullptr});
    bool ok = backend::gram_fixed_point(
        *ctx_, {.a = xq.raw(), .b = xq.raw(), .f64 = f64, .rows = len, .n = n_, .symmetric = true, .words = words});
    if (x_fp)
      ok &= backend::gram_fixed_point(*ctx_, {.a = dx.raw(),
                                              .b = xq.raw(),
                                              .f64 = f64,
                                              .rows = len,
                                              .n = n_,
                                              .symmetric = false,
                                              .words = words + d_offset_});
    MACA_CHECK(ok, "a calibration sequence's statistics Σ w x xᵀ leave the exact-sum range (|value| > {:g}, or not "
               "finite): the layer's input activations are non-finite or implausibly large", fixed_point::kMaxAbs);
    r0 += len;
  }
}

Tensor Accumulator::finalize(const Tensor& host_words, int64_t offset, bool symmetric) const {
  Tensor out = Tensor::empty({n_, n_});
  float* o = out.data<float>();
  const int64_t* words = host_words.data<int64_t>() + offset;
  const double sw = sum_weight(), scale = sw > 0 ? 2.0 / sw : 0.0;
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t j = symmetric ? i : 0; j < n_; ++j) {
      const int64_t* tile = words + fixed_point::tile_offset(i / kTile, j / kTile, tiles_, symmetric);
      const int64_t at = (i % kTile) * kTile + j % kTile;
      const auto v = static_cast<float>(fixed_point::value(tile[at], tile[at + kTile * kTile]) * scale);
      o[i * n_ + j] = v;
      if (symmetric) o[j * n_ + i] = v;
    }
  return out;
}

Tensor Accumulator::finalize_h() const {
  MACA_CHECK(totals_[2] <= fixed_point::kMaxTerms,
             "{} calibration sequences exceed the {} the exact statistics sums hold; use fewer, longer sequences",
             totals_[2], fixed_point::kMaxTerms);
  return finalize(ctx_->to_host(words_), 0, true);
}

Tensor Accumulator::finalize_d() const {
  if (!with_d_) return {};
  return finalize(ctx_->to_host(words_), d_offset_, false);
}

}  // namespace maca::hessian
