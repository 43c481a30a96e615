// The quantization grid: fp16 scale rounding and find_params edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/half.h"
#include "quant/grid.h"

namespace maca::quant {
namespace {

TEST(Grid, ScaleRoundsToNearestF16) {
  EXPECT_EQ(round_scale_to_f16(1.0), 1.0);
  EXPECT_EQ(round_scale_to_f16(0.1), static_cast<double>(f16_to_f32(f32_to_f16(0.1f))));
  // Just above the midpoint of 1 and 1 + 2^-10: a double→float step would
  // land on the midpoint and round down to 1; the correct answer is up.
  EXPECT_EQ(round_scale_to_f16(1 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)), 1 + std::ldexp(1.0, -10));
  EXPECT_EQ(round_scale_to_f16(1 + std::ldexp(1.0, -11)), 1.0);  // exact tie: even
  EXPECT_EQ(round_scale_to_f16(1e-12), std::ldexp(1.0, -24));    // smallest subnormal
  EXPECT_EQ(round_scale_to_f16(1e9), 65504.0);
}

TEST(Grid, ScaleRoundsDownToF16) {
  const auto down = ScaleRounding::Down;
  EXPECT_EQ(round_scale_to_f16(1.0, down), 1.0);
  EXPECT_EQ(round_scale_to_f16(1 + std::ldexp(1.0, -10) - std::ldexp(1.0, -40), down), 1.0);
  for (double s = 1e-4; s < 100; s *= 1.37) EXPECT_LE(round_scale_to_f16(s, down), s);
}

// best: of the two fp16 neighbours, the one with the smaller squared error.
TEST(Grid, BestScaleHasTheSmallerGroupError) {
  const Grid down{4, true, {}, ScaleRounding::Down}, up{4, true, {}, ScaleRounding::Up},
      best{4, true, {}, ScaleRounding::Best};
  int picked_down = 0, picked_up = 0;
  for (int row = 0; row < 200; ++row) {
    std::vector<double> x(64);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(row * 3.7 + i * 0.9) * (1 + row % 7);
    auto error = [&](const Grid& g, float* scale) {
      int32_t z;
      find_params(g, x.data(), 1, 64, 64, scale, &z);
      double e = 0;
      for (double v : x) e += std::pow(v - *scale * (quantize_code(v, *scale, z, g.maxq()) - z), 2);
      return e;
    };
    float sd, su, sb;
    const double ed = error(down, &sd), eu = error(up, &su), eb = error(best, &sb);
    EXPECT_EQ(eb, std::min(ed, eu)) << row;
    EXPECT_TRUE(sb == sd || sb == su) << row;
    picked_down += sb == sd && sd != su;
    picked_up += sb == su && sd != su;
  }
  EXPECT_GT(picked_down, 0);
  EXPECT_GT(picked_up, 0);
}

// f32: the min-max scale as float32, not fp16-exact (the reference's rule).
TEST(Grid, F32KeepsTheFloatScale) {
  const Grid f32{4, true, {}, ScaleRounding::F32};
  const std::vector<double> x{0.1, -0.3, 0.7};
  float scale;
  int32_t zero;
  find_params(f32, x.data(), 1, 3, 3, &scale, &zero);
  EXPECT_EQ(scale, static_cast<float>(0.7 * 2 / 15));
  EXPECT_NE(static_cast<double>(scale), round_scale_to_f16(scale));
  EXPECT_EQ(zero, 8);
}

TEST(Grid, ScaleRoundsUpToF16) {
  const auto up = ScaleRounding::Up;
  EXPECT_EQ(round_scale_to_f16(1.0, up), 1.0);  // already fp16: unchanged
  EXPECT_EQ(round_scale_to_f16(1 + std::ldexp(1.0, -40), up), 1 + std::ldexp(1.0, -10));
  EXPECT_EQ(round_scale_to_f16(1 + std::ldexp(1.0, -11), up), 1 + std::ldexp(1.0, -10));  // the tie goes up
  EXPECT_EQ(round_scale_to_f16(1e9, up), 65504.0);
  for (double s = 1e-4; s < 100; s *= 1.37) {  // normal fp16 range: one step is at most 2^-10 relative
    const double r = round_scale_to_f16(s, up);
    EXPECT_GE(r, s);
    EXPECT_LE(r, round_scale_to_f16(s) * (1 + std::ldexp(1.0, -10)));
  }
}

// With scales rounded up, no symmetric group's extreme weight is rounded
// outward: every dequantized value stays within the group's max |w|.
TEST(Grid, ScaleUpKeepsExtremesInside) {
  const Grid nearest{4, true, {}}, up{4, true, {}, ScaleRounding::Up};
  int outward_nearest = 0;
  for (int row = 0; row < 400; ++row) {
    std::vector<double> x(64);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(row * 7.1 + i * 1.3) * (1 + row % 5);
    double amax = 0;
    for (double v : x) amax = std::max(amax, std::abs(v));
    for (const Grid* g : {&nearest, &up}) {
      float s;
      int32_t z;
      find_params(*g, x.data(), 1, 64, 64, &s, &z);
      double deq_max = 0;
      for (double v : x) deq_max = std::max(deq_max, std::abs(s * (quantize_code(v, s, z, g->maxq()) - z)));
      if (g == &up)
        EXPECT_LE(deq_max, amax) << row;
      else
        outward_nearest += deq_max > amax;
    }
  }
  EXPECT_GT(outward_nearest, 0);  // the rule matters: nearest rounding does push some outward
}

TEST(Grid, ReferenceMinMaxRules) {
  const Grid sym{4, true, {}}, asym{4, false, {}};
  // rows: all zero; no negatives; mixed
  const std::vector<double> x = {0, 0, 0, 0, 0.1, 0.3, 0.2, 0.0, -0.2, 0.1, 0.4, -0.6};
  float s[3];
  int32_t z[3];
  find_params(sym, x.data(), 3, 4, 4, s, z);
  EXPECT_EQ(s[0], static_cast<float>(round_scale_to_f16(2.0 / 15)));
  EXPECT_EQ(s[1], static_cast<float>(round_scale_to_f16(0.3 / 15)));  // xmin stays 0 when no negatives
  EXPECT_EQ(s[2], static_cast<float>(round_scale_to_f16(1.2 / 15)));
  for (int r = 0; r < 3; ++r) EXPECT_EQ(z[r], 8);
  find_params(asym, x.data(), 3, 4, 4, s, z);
  EXPECT_EQ(s[1], static_cast<float>(round_scale_to_f16(0.3 / 15)));
  EXPECT_EQ(z[1], 0);
  EXPECT_EQ(s[2], static_cast<float>(round_scale_to_f16(1.0 / 15)));
  EXPECT_EQ(z[2], 9);  // round(0.6 / (1/15)) = 9
}

TEST(Grid, ClipSearchNeverIncreasesTheError) {
  std::vector<double> x(64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7 * i) * (i == 5 ? 8.0 : 1.0);  // one outlier
  for (bool sym : {true, false}) {
    Grid plain{3, sym, {}}, clip{3, sym, {}};
    clip.clip.enabled = true;
    float s0, s1;
    int32_t z0, z1;
    find_params(plain, x.data(), 1, 64, 64, &s0, &z0);
    find_params(clip, x.data(), 1, 64, 64, &s1, &z1);
    auto err = [&](double s, double z) {
      double e = 0;
      for (double v : x) e += std::pow(std::abs(s * (quantize_code(v, s, z, 7) - z) - v), 2.4);
      return e;
    };
    EXPECT_LT(s1, s0);
    EXPECT_LT(err(s1, z1), err(s0, z0));
  }
}

}  // namespace
}  // namespace maca::quant
