// Row slices rounded separately (as ranks do) and joined equal the layer
// rounded whole, and a layer survives the byte exchange unchanged.
#include <gtest/gtest.h>

#include <random>

#include "common/quantize_with.h"
#include "core/error.h"
#include "parallel/partition.h"
#include "pipeline/layer_exchange.h"
#include "quant/quantize.h"

namespace maca::pipeline {
namespace {

struct Layer {
  Tensor w, h, d;
};

Layer random_layer(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Layer l{Tensor::empty({rows, cols}), Tensor::zeros({cols, cols}), Tensor::empty({cols, cols})};
  for (int64_t i = 0; i < cols * cols; ++i) l.d.data<float>()[i] = 0.05f * n(rng);
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
  EXPECT_EQ(a.alpha_terms, b.alpha_terms);
  EXPECT_NEAR(a.loss, b.loss, 1e-9 * std::max(1.0, std::abs(a.loss)));
}

// For every Hessian method, with the exchange in between (SNRQ's closed-form
// α terms included).
TEST(LayerExchange, JoinedRowSlicesEqualTheWholeLayer) {
  const Layer l = random_layer(3 * quant::kRowTile + 5, 64, 5);  // 4 row tiles, the last one short
  const test::Settings grid{{"quant.bits", "3"}, {"quant.group_size", "16"}, {"quant.sym", "false"}};
  for (const test::Settings& method :
       std::vector<test::Settings>{{{"quant.method", "gptq"}, {"quant.gptq.act_order", "true"}},
                                   {{"quant.method", "gptaq"}},
                                   {{"quant.method", "snrq"}, {"quant.snrq.alpha_mode", "closed_form"}},
                                   {{"quant.method", "ksnrq"}, {"quant.ksnrq.beam", "3"}}}) {
    test::Settings opt = grid;
    opt.insert(method.begin(), method.end());
    SCOPED_TRACE(opt.at("quant.method"));
    quant::LayerSite site;
    site.block = 1;
    const QuantizedLinear whole = test::quantize_with(l.w, &l.h, &l.d, opt, "test", site);
    for (int ranks : {2, 3, 4, 40}) {
      std::vector<QuantizedLinear> slices;
      for (const parallel::RowRange& r : parallel::split_rows(l.w.dim(0), ranks, quant::kRowTile))
        slices.push_back(r.size() == 0 ? QuantizedLinear{}
                                       : unpack_layer(pack_layer(test::quantize_with(
                                             l.w.slice_rows(r.begin, r.end), &l.h, &l.d, opt, "test", site))));
      SCOPED_TRACE(ranks);
      expect_same(join_row_slices(slices), whole);
    }
  }
}

TEST(LayerExchange, PackUnpackRoundTrip) {
  const Layer l = random_layer(8, 32, 9);
  QuantizedLinear q = test::quantize_with(l.w, &l.h, &l.d, {{"quant.method", "snrq"}, {"quant.group_size", "8"}},
                                          "test");
  q.damp = 0.01;
  const std::vector<uint8_t> bytes = pack_layer(q);
  const QuantizedLinear back = unpack_layer(bytes);
  expect_same(back, q);
  EXPECT_EQ(back.method, q.method);
  EXPECT_EQ(back.alpha_source, q.alpha_source);
  EXPECT_FALSE(back.alpha_terms.empty());
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
