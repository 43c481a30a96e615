// hessian::Accumulator against direct double sums: per-row weights
// (algorithms.md §3's length-3/length-7 example), F32 vs F64, D, and the raw
// words an all-reduce would combine.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "hessian/accumulator.h"

namespace maca::hessian {
namespace {

constexpr int64_t kN = 12;

backend::Context& cpu() {
  static const auto ctx = backend::Context::create(Device::cpu());
  return *ctx;
}

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
    Accumulator acc(cpu(), kN, p, false);
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
  Accumulator tok(cpu(), kN, Precision::F64, false);
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

  Accumulator a32(cpu(), kN, Precision::F32, true), a64(cpu(), kN, Precision::F64, true);
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

// What an all-reduce does: sum the raw words of two shards. The words are
// exact integers, so any split of the units and any order gives the same bits.
TEST(Accumulator, RawSumsCombineExactlyInAnyOrder) {
  const Tensor x = random_rows(20, 5), xf = random_rows(20, 6);
  const std::vector<int64_t> units = {3, 5, 4, 8};
  std::vector<float> w(20);
  for (int r = 0; r < 20; ++r) w[r] = 0.25f + static_cast<float>(r % 3);
  for (Precision p : {Precision::F32, Precision::F64}) {
    Accumulator whole(cpu(), kN, p, true), s0(cpu(), kN, p, true), s1(cpu(), kN, p, true);
    whole.add(x, units, w, &xf);
    // Shard 0 gets units 2 and 0 (in that order), shard 1 units 3 and 1.
    auto add_unit = [&](Accumulator& a, int64_t r0, int64_t len) {
      const Tensor xs = x.slice_rows(r0, r0 + len), fs = xf.slice_rows(r0, r0 + len);
      a.add(xs, std::span<const float>(w).subspan(static_cast<size_t>(r0), static_cast<size_t>(len)), &fs);
    };
    add_unit(s0, 8, 4);
    add_unit(s0, 0, 3);
    add_unit(s1, 12, 8);
    add_unit(s1, 3, 5);
    const std::span<int64_t> a(s0.tile_words().data<int64_t>(), static_cast<size_t>(s0.tile_words().numel()));
    const std::span<const int64_t> b(s1.tile_words().data<int64_t>(), static_cast<size_t>(s1.tile_words().numel()));
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
    for (size_t i = 0; i < s0.totals().size(); ++i) s0.totals()[i] += s1.totals()[i];
    EXPECT_EQ(s0.sum_weight(), whole.sum_weight());
    for (auto [u, v] : {std::pair{whole.finalize_h(), s0.finalize_h()}, std::pair{whole.finalize_d(), s0.finalize_d()}})
      for (int64_t i = 0; i < u.numel(); ++i) ASSERT_EQ(u.data<float>()[i], v.data<float>()[i]) << "entry " << i;
  }
}

// Tiles: a width that is not a multiple of the tile edge, against direct sums.
TEST(Accumulator, WideInputsAcrossTiles) {
  const int64_t n = Accumulator::kTile + 37, rows = 50;
  Tensor x = Tensor::empty({rows, n});
  std::mt19937 rng(9);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(rng);
  Accumulator acc(cpu(), n, Precision::F64, false);
  acc.add(x, std::vector<int64_t>{20, 30}, {});
  const Tensor h = acc.finalize_h();
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = 0;
      for (int64_t r = 0; r < rows; ++r) want += double(x.data<float>()[r * n + i]) * x.data<float>()[r * n + j];
      worst = std::max(worst, std::abs(h.data<float>()[i * n + j] - want * 2 / rows));
    }
  EXPECT_LT(worst, 1e-5);
}

// Non-finite activations are an error, not a silently wrong Hessian.
TEST(Accumulator, NonFiniteInputIsAnError) {
  Tensor x = random_rows(4, 7);
  x.data<float>()[5] = std::numeric_limits<float>::infinity();
  Accumulator acc(cpu(), kN, Precision::F64, false);
  EXPECT_THROW(acc.add(x, {}), Error);
}

}  // namespace
}  // namespace maca::hessian
