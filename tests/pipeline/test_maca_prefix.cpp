// MaCa prefix mode (algorithms.md §3): one forward pass over a sequence of
// the longest length, rows weighted by ω(t), gives the same Hessian as
// forwarding every prefix length separately and normalizing each prefix by
// its length. It holds because a causal model's activations on a prefix are
// the first rows of its activations on the whole sequence; the test checks
// it on a tiny llama through the attention and MLP of a real block.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "backend/context.h"
#include "calib/sampler.h"
#include "hessian/accumulator.h"
#include "io/model_source.h"
#include "model/model.h"

namespace maca::pipeline {
namespace {

// Input of the Down group of block 1 for `tokens` (one sequence).
Tensor down_input(const model::Model& m, const std::vector<int32_t>& tokens) {
  Tensor h = m.embed(tokens);
  const std::vector<int64_t> lens = {static_cast<int64_t>(tokens.size())};
  m.forward_block(m.load_block(0), 0, h, lens);
  Tensor x;
  const model::CaptureFn keep = [&](int, model::LinearGroup g, const Tensor& in) {
    if (g == model::LinearGroup::Down) x = in.clone();
  };
  m.forward_block(m.load_block(1), 1, h, lens, &keep, model::LinearGroup::Down);
  return x;
}

TEST(MacaPrefix, OnePassWithPositionWeightsEqualsExplicitPrefixes) {
  const auto src = io::open_model(std::filesystem::path(MACA_FIXTURES) / "model" / "llama");
  const auto ctx = backend::Context::create(Device::cpu(), 0);
  const model::Model m(*src, *ctx);
  std::vector<int32_t> tokens(16);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 37 + 11) % 256);
  const std::vector<int64_t> lengths = {4, 8, 16};
  const std::vector<double> beta = {0.5, 0.3, 0.2};

  const Tensor x_full = down_input(m, tokens);
  const int64_t n = x_full.dim(1);
  const std::vector<double> omega = calib::prefix_position_weights(lengths, beta);
  ASSERT_EQ(omega.size(), 16u);
  hessian::Accumulator one_pass(*ctx, n, hessian::Precision::F64, false);
  const std::vector<float> w(omega.begin(), omega.end());
  one_pass.add(x_full, w);

  hessian::Accumulator explicit_prefixes(*ctx, n, hessian::Precision::F64, false);
  const double K = static_cast<double>(lengths.size());
  for (size_t k = 0; k < lengths.size(); ++k) {
    const int64_t len = lengths[k];
    const Tensor x = down_input(m, std::vector<int32_t>(tokens.begin(), tokens.begin() + len));
    // The prefix's own activations equal the first rows of the full pass.
    for (int64_t i = 0; i < len * n; ++i) ASSERT_NEAR(x.data<float>()[i], x_full.data<float>()[i], 1e-5);
    explicit_prefixes.add(x, std::vector<float>(static_cast<size_t>(len), static_cast<float>(beta[k] * K / len)));
  }
  EXPECT_NEAR(one_pass.sum_weight(), explicit_prefixes.sum_weight(), 1e-6);
  const Tensor a = one_pass.finalize_h(), b = explicit_prefixes.finalize_h();
  double max_abs = 0;
  for (int64_t i = 0; i < n * n; ++i) max_abs = std::max<double>(max_abs, std::fabs(b.data<float>()[i]));
  for (int64_t i = 0; i < n * n; ++i) ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-5 * max_abs) << i;
}

}  // namespace
}  // namespace maca::pipeline
