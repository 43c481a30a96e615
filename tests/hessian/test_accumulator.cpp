// hessian::Accumulator against direct double sums: per-row weights
// (algorithms.md §3's length-3/length-7 example), F32 vs F64, D, and the raw
// buffers an all-reduce would combine.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "hessian/accumulator.h"

namespace maca::hessian {
namespace {

constexpr int64_t kN = 12;

Tensor random_rows(int64_t rows, uint32_t seed) {
  Tensor t = Tensor::empty({rows, kN});
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng) * (1 + static_cast<float>(i % kN));
  return t;
}

// Σ_r w_r a[r,i] b[r,j] in double.
std::vector<double> weighted_cross(const Tensor& a, const Tensor& b, const std::vector<float>& w) {
  std::vector<double> out(kN * kN, 0.0);
  for (int64_t r = 0; r < a.dim(0); ++r)
    for (int64_t i = 0; i < kN; ++i)
      for (int64_t j = 0; j < kN; ++j)
        out[i * kN + j] += static_cast<double>(w[r]) * a.data<float>()[r * kN + i] * b.data<float>()[r * kN + j];
  return out;
}

void expect_close(const Tensor& got, const std::vector<double>& want, double rel) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.data<float>()[i], want[i], rel * scale) << "entry " << i;
}

Tensor concat(const Tensor& a, const Tensor& b) {
  Tensor t = Tensor::empty({a.dim(0) + b.dim(0), kN});
  std::copy_n(a.data<float>(), a.numel(), t.data<float>());
  std::copy_n(b.data<float>(), b.numel(), t.data<float>() + a.numel());
  return t;
}

TEST(Accumulator, PerSequenceNormalizationExample) {
  const Tensor x1 = random_rows(3, 1), x2 = random_rows(7, 2);
  const std::vector<float> w1(3, 1.0f / 3), w2(7, 1.0f / 7);
  // Σ w = 1 + 1 = 2, so H = (2/2)(X₁ᵀX₁/3 + X₂ᵀX₂/7).
  std::vector<double> want = weighted_cross(x1, x1, w1);
  const std::vector<double> h2 = weighted_cross(x2, x2, w2);
  for (size_t i = 0; i < want.size(); ++i) want[i] += h2[i];
  for (Precision p : {Precision::F32, Precision::F64}) {
    Accumulator acc(kN, p, false);
    acc.add(x1, w1);
    acc.add(x2, w2);
    EXPECT_NEAR(acc.sum_weight(), 2.0, 1e-6);
    const Tensor h = acc.finalize_h();
    expect_close(h, want, p == Precision::F64 ? 1e-7 : 1e-6);
    for (int64_t i = 0; i < kN; ++i)
      for (int64_t j = 0; j < kN; ++j) EXPECT_EQ(h.data<float>()[i * kN + j], h.data<float>()[j * kN + i]);
    EXPECT_FALSE(acc.finalize_d().defined());
  }
  // The token-weighted sum (2/10)(X₁ᵀX₁ + X₂ᵀX₂) is a different matrix.
  Accumulator tok(kN, Precision::F64, false);
  tok.add(concat(x1, x2), {});
  EXPECT_DOUBLE_EQ(tok.sum_weight(), 10.0);
  const Tensor ht = tok.finalize_h();
  double max_diff = 0;
  for (size_t i = 0; i < want.size(); ++i) max_diff = std::max(max_diff, std::abs(ht.data<float>()[i] - want[i]));
  EXPECT_GT(max_diff, 1.0);
}

TEST(Accumulator, DMatchesDirectSumAndPrecisionsAgree) {
  const Tensor xq = random_rows(40, 3);
  Tensor xf = random_rows(40, 4);
  for (int64_t i = 0; i < xf.numel(); ++i) xf.data<float>()[i] = xq.data<float>()[i] + 0.1f * xf.data<float>()[i];
  std::vector<float> w(40);
  for (int r = 0; r < 40; ++r) w[r] = 0.5f + static_cast<float>(r % 5);
  Tensor delta = Tensor::empty({40, kN});
  for (int64_t i = 0; i < xf.numel(); ++i) delta.data<float>()[i] = xf.data<float>()[i] - xq.data<float>()[i];
  double sw = 0;
  for (float v : w) sw += v;
  std::vector<double> want_h = weighted_cross(xq, xq, w), want_d = weighted_cross(delta, xq, w);
  for (double& v : want_h) v *= 2 / sw;
  for (double& v : want_d) v *= 2 / sw;

  Accumulator a32(kN, Precision::F32, true), a64(kN, Precision::F64, true);
  for (Accumulator* a : {&a32, &a64}) {
    const Tensor xf_head = xf.slice_rows(0, 15), xf_rest = xf.slice_rows(15, 40);
    a->add(xq.slice_rows(0, 15), std::span<const float>(w).subspan(0, 15), &xf_head);
    a->add(xq.slice_rows(15, 40), std::span<const float>(w).subspan(15), &xf_rest);
  }
  expect_close(a64.finalize_h(), want_h, 1e-7);
  expect_close(a64.finalize_d(), want_d, 1e-6);
  expect_close(a32.finalize_h(), want_h, 1e-6);
  expect_close(a32.finalize_d(), want_d, 1e-5);
}

// What an all-reduce does: sum the raw buffers and weights of two shards.
TEST(Accumulator, RawSumsCombineLikeOneAccumulator) {
  const Tensor x = random_rows(20, 5);
  Accumulator whole(kN, Precision::F64, false), s0(kN, Precision::F64, false), s1(kN, Precision::F64, false);
  whole.add(x, {});
  s0.add(x.slice_rows(0, 8), {});
  s1.add(x.slice_rows(8, 20), {});
  double* h0 = static_cast<double*>(s0.raw_h());
  const double* h1 = static_cast<const double*>(s1.raw_h());
  for (int64_t i = 0; i < kN * kN; ++i) h0[i] += h1[i];
  s0.set_sum_weight(s0.sum_weight() + s1.sum_weight());
  const Tensor a = whole.finalize_h(), b = s0.finalize_h();
  std::vector<double> want(a.data<float>(), a.data<float>() + a.numel());
  expect_close(b, want, 1e-7);
  EXPECT_EQ(s0.raw_d(), nullptr);
}

}  // namespace
}  // namespace maca::hessian
