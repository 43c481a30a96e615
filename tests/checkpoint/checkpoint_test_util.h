// Helpers for the checkpoint tests: deterministic QuantizedLinear layers of a
// given configuration and a field-by-field comparison.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>

#include "core/quantized.h"

namespace maca::test {

struct LayerShape {
  int64_t rows, cols;
  int bits;
  int64_t group_size;  // -1: one group per row
  bool sym, act_order, static_groups;
};

// A layer as a quantizer of that configuration would produce it, with
// random codes, scales and zeros from `seed`.
inline QuantizedLinear make_layer(const LayerShape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  QuantizedLinear q;
  q.rows = s.rows;
  q.cols = s.cols;
  q.bits = s.bits;
  q.group_size = s.group_size;
  q.sym = s.sym;
  q.act_order = s.act_order;
  q.static_groups = s.static_groups;
  const int maxq = (1 << s.bits) - 1;
  const int64_t g = s.group_size < 0 ? s.cols : s.group_size;
  const int64_t n_groups = (s.cols + g - 1) / g;
  std::uniform_int_distribution<int> code(0, maxq);
  std::uniform_real_distribution<float> scale(1e-4f, 1e-1f);
  q.codes.resize(static_cast<size_t>(s.rows * s.cols));
  for (uint8_t& c : q.codes) c = static_cast<uint8_t>(code(rng));
  q.scales.resize(static_cast<size_t>(n_groups * s.rows));
  for (float& x : q.scales) x = scale(rng);
  q.zeros.resize(q.scales.size());
  for (int32_t& z : q.zeros) z = s.sym ? (maxq + 1) / 2 : code(rng);
  q.perm.resize(static_cast<size_t>(s.cols));
  std::iota(q.perm.begin(), q.perm.end(), 0);
  if (s.act_order) std::shuffle(q.perm.begin(), q.perm.end(), rng);
  q.g_idx.resize(static_cast<size_t>(s.cols));
  const bool dynamic = s.act_order && !s.static_groups;
  for (int64_t i = 0; i < s.cols; ++i) q.g_idx[q.perm[i]] = static_cast<int32_t>((dynamic ? i : q.perm[i]) / g);
  q.loss = std::uniform_real_distribution<double>(0, 100)(rng);
  q.damp = 0.01 * (1 + seed % 3);
  q.alpha = s.sym ? 0.0 : 0.25;
  q.method = s.act_order ? "gptaq" : "gptq";
  return q;
}

inline void expect_same_layer(const QuantizedLinear& a, const QuantizedLinear& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.bits, b.bits);
  EXPECT_EQ(a.group_size, b.group_size);
  EXPECT_EQ(a.sym, b.sym);
  EXPECT_EQ(a.act_order, b.act_order);
  EXPECT_EQ(a.static_groups, b.static_groups);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.zeros, b.zeros);
  EXPECT_EQ(a.g_idx, b.g_idx);
  EXPECT_EQ(a.perm, b.perm);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.damp, b.damp);
  EXPECT_EQ(a.alpha, b.alpha);
  EXPECT_EQ(a.method, b.method);
}

}  // namespace maca::test
