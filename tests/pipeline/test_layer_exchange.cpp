// Row slices rounded separately (as ranks do) and joined equal the layer
// rounded whole, and a layer survives the byte exchange unchanged.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "dist/partition.h"
#include "pipeline/layer_exchange.h"
#include "quant/quantize.h"

namespace maca::pipeline {
namespace {

struct Layer {
  Tensor w, h;
};

Layer random_layer(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Layer l{Tensor::empty({rows, cols}), Tensor::zeros({cols, cols})};
  for (int64_t i = 0; i < rows * cols; ++i) l.w.data<float>()[i] = n(rng);
  // H = XᵀX / samples for random X with correlated columns.
  const int64_t samples = 4 * cols;
  std::vector<float> x(static_cast<size_t>(samples * cols));
  for (int64_t s = 0; s < samples; ++s) {
    const float common = n(rng);
    for (int64_t c = 0; c < cols; ++c) x[static_cast<size_t>(s * cols + c)] = n(rng) + 0.5f * common;
  }
  float* h = l.h.data<float>();
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        h[i * cols + j] += 2.0f * x[static_cast<size_t>(s * cols + i)] * x[static_cast<size_t>(s * cols + j)] /
                           static_cast<float>(samples);
  return l;
}

void expect_same(const QuantizedLinear& a, const QuantizedLinear& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.zeros, b.zeros);
  EXPECT_EQ(a.g_idx, b.g_idx);
  EXPECT_EQ(a.perm, b.perm);
  EXPECT_NEAR(a.loss, b.loss, 1e-9 * std::max(1.0, std::abs(a.loss)));
}

TEST(LayerExchange, JoinedRowSlicesEqualTheWholeLayer) {
  const Layer l = random_layer(3 * quant::kRowTile + 5, 64, 5);  // 4 row tiles, the last one short
  quant::QuantOptions opt;
  opt.method = quant::Method::Gptq;
  opt.bits = 3;
  opt.group_size = 16;
  opt.sym = false;
  opt.act_order = true;
  const QuantizedLinear whole = quant::quantize_linear(l.w, &l.h, nullptr, opt, "test");
  for (int ranks : {2, 3, 4, 40}) {
    std::vector<QuantizedLinear> slices;
    for (const dist::RowRange& r : dist::split_rows(l.w.dim(0), ranks, quant::kRowTile))
      slices.push_back(r.size() == 0 ? QuantizedLinear{}
                                     : unpack_layer(pack_layer(quant::quantize_linear(
                                           l.w.slice_rows(r.begin, r.end), &l.h, nullptr, opt, "test"))));
    SCOPED_TRACE(ranks);
    expect_same(join_row_slices(slices), whole);
  }
}

TEST(LayerExchange, PackUnpackRoundTrip) {
  const Layer l = random_layer(8, 32, 9);
  quant::QuantOptions opt;
  opt.method = quant::Method::Gptq;
  opt.group_size = 8;
  QuantizedLinear q = quant::quantize_linear(l.w, &l.h, nullptr, opt, "test");
  q.damp = 0.01;
  const std::vector<uint8_t> bytes = pack_layer(q);
  const QuantizedLinear back = unpack_layer(bytes);
  expect_same(back, q);
  EXPECT_EQ(back.method, q.method);
  EXPECT_EQ(back.damp, q.damp);
  EXPECT_EQ(unpack_layer(pack_layer(QuantizedLinear{})).rows, 0);
  // Truncated or padded buffers are errors, not crashes.
  EXPECT_THROW(unpack_layer(std::span<const uint8_t>(bytes.data(), bytes.size() / 2)), Error);
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_THROW(unpack_layer(longer), Error);
}

}  // namespace
}  // namespace maca::pipeline
