// The per-element formulas shared by the CPU and CUDA kernels
// (kernels/shared/elementwise_math.h) against the definitions evaluated in
// double, on a few hundred inputs each. Each tolerance is derived from the fp32
// roundings the formula makes; u = 2^-24 ≈ 5.96e-8 is fp32's unit roundoff.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "kernels/cpu/fast_exp.h"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::shared {
namespace {

constexpr double u = 5.960464477539063e-8;  // 2^-24

std::vector<float> inputs(float lo, float hi, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v = {0.0f, lo, hi, 1.0f, -1.0f, 1e-4f, -1e-4f};
  while (static_cast<int>(v.size()) < n) v.push_back(dist(rng));
  return v;
}

TEST(SharedMath, SiluWithEitherExp) {
  // e = exp(−x) is within 3u relative (glibc's expf < 1 ulp ≤ 2u, fast_expf
  // 3u by its own test); 1 + e can only shrink that and adds 1u; the division
  // adds 1u: ≤ 5u relative, 6u allowed. |x| ≤ 30 keeps e far from fast_expf's
  // clamp.
  for (const float x : inputs(-30.0f, 30.0f, 400, 1)) {
    const double want = x / (1.0 + std::exp(-static_cast<double>(x)));
    const double tol = 6 * u * std::abs(want);
    EXPECT_NEAR(silu(x, Expf{}), want, tol) << "x " << x;
    EXPECT_NEAR(silu(x, cpu::fast_expf), want, tol) << "x " << x;
  }
}

TEST(SharedMath, GeluTanhMatchesDefinition) {
  // The argument t = k(x + 0.044715x³) carries ≤ 6u relative error (five
  // roundings, both constants rounded to fp32; x and 0.044715x³ share a sign,
  // so no cancellation), which moves tanh by ≤ 6u·max|t·sech²t| ≤ 2.7u; tanhf
  // adds ≤ 2 ulp ≤ 2u (|tanh| < 1) and 1 + tanh one rounding ≤ u: ≤ 5.7u
  // absolute in 1 + tanh (absolute: it cancels for x ≪ 0), scaled by |x|/2,
  // plus u relative for the last product. Allowed: |x|/2 · 8u + 4u·|want|.
  const double k = std::sqrt(2.0 / std::numbers::pi);
  for (const float x : inputs(-10.0f, 10.0f, 400, 2)) {
    const double xd = x;
    const double want = 0.5 * xd * (1.0 + std::tanh(k * (xd + 0.044715 * xd * xd * xd)));
    EXPECT_NEAR(gelu_tanh(x), want, std::abs(xd) / 2 * 8 * u + 4 * u * std::abs(want)) << "x " << x;
  }
}

TEST(SharedMath, RopeAngleCosSinAndRotation) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int64_t> position(0, 1 << 20);
  std::normal_distribution<float> value(0.0f, 1.0f);
  for (int i = 0; i < 300; ++i) {
    const int64_t p = i < 10 ? i : position(rng);
    const float inv_freq = static_cast<float>(std::pow(1e4, -(i % 32) / 32.0));
    // The angle is the fp32 product: exactly p·inv_freq rounded once (p < 2^24
    // is exact in fp32).
    const float angle = rope_angle(p, inv_freq);
    EXPECT_EQ(angle, static_cast<float>(static_cast<double>(p) * inv_freq));
    // cos/sin of that fp32 angle in double, rounded once to fp32: ≤ u/2
    // relative, so ≤ u/2 absolute since |cos|, |sin| ≤ 1 (u allowed).
    float c, s;
    rope_cos_sin(angle, c, s);
    EXPECT_NEAR(c, std::cos(static_cast<double>(angle)), u);
    EXPECT_NEAR(s, std::sin(static_cast<double>(angle)), u);
    // Rotation a·c − b·s: two rounded products and a rounded difference, ≤ 2u
    // relative to |a·c| + |b·s| (3u allowed); same for b·c + a·s.
    const float a = value(rng), b = value(rng);
    const FloatPair r = rope_rotate(a, b, c, s);
    const double ad = a, bd = b, cd = c, sd = s;
    EXPECT_NEAR(r.first, ad * cd - bd * sd, 3 * u * (std::abs(ad * cd) + std::abs(bd * sd)));
    EXPECT_NEAR(r.second, bd * cd + ad * sd, 3 * u * (std::abs(bd * cd) + std::abs(ad * sd)));
  }
}

TEST(SharedMath, RmsnormInverseAndScale) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> log_ms(-8.0, 8.0);
  std::normal_distribution<float> value(0.0f, 1.0f);
  for (int i = 0; i < 300; ++i) {
    const int64_t d = 1 + i * 37;
    const double ss = std::pow(10.0, log_ms(rng)) * static_cast<double>(d);
    const float eps = i % 2 ? 1e-6f : 1e-5f;
    // The mean rounded to fp32 (u) and + eps (u) give sqrt's input ≤ 2u, which
    // sqrt halves and rounds (2u), 1/· rounds (3u): ≤ 3u relative, 4u allowed.
    const double want_inv = 1.0 / std::sqrt(ss / static_cast<double>(d) + static_cast<double>(eps));
    const float inv = rmsnorm_inv(ss, d, eps);
    EXPECT_NEAR(inv, want_inv, 4 * u * want_inv) << "ss " << ss << " d " << d;
    // x·inv·(offset + w): offset + w (u), two products (2u): ≤ 3u relative to
    // the exact product of the rounded sum, 4u allowed.
    const float x = value(rng), w = value(rng);
    for (const float offset : {0.0f, 1.0f}) {
      const double want = static_cast<double>(x) * inv * (static_cast<double>(offset) + w);
      EXPECT_NEAR(rmsnorm_scale(x, inv, offset, w), want, 4 * u * std::abs(want));
    }
  }
}

TEST(SharedMath, CrossEntropyNll) {
  // Pure double arithmetic on exact fp32 inputs: three roundings of 2^-53.
  std::mt19937 rng(5);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  std::uniform_real_distribution<double> sum(1.0, 1e5);
  for (int i = 0; i < 300; ++i) {
    const float mx = logit(rng), t = logit(rng);
    const double s = sum(rng);
    const double want = static_cast<double>(mx) + std::log(s) - static_cast<double>(t);
    EXPECT_NEAR(cross_entropy_nll(mx, s, t), want, 1e-14 * (std::abs(mx) + std::log(s) + std::abs(t)));
  }
}

}  // namespace
}  // namespace maca::kernels::shared
