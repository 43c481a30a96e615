// rtn/gptq/gptaq against the numpy reference of tests/scripts/make_gptq_fixtures.py
// (an independent, unblocked float64 transcription of the algorithms).
// Both sides compute in float64 from the same float32 inputs, so the only
// differences are summation orders (BLAS, Cholesky, inverse) at ~1e-13
// relative; a code could differ only if a value fell that close to a rounding
// boundary, which these inputs do not: codes, scales, zeros, g_idx and perm
// must be IDENTICAL. The loss agrees to 1e-9 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/quantize_with.h"
#include "fixture_inputs.h"
#include "quant/quantize.h"

namespace maca::quant {
namespace {

using Inputs = FixtureInputs;

const Inputs& inputs() {
  static const Inputs in = load_fixture_inputs("quant/cases.json");
  return in;
}

test::Settings settings_of(const nlohmann::json& c) {
  const auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  return {{"quant.method", c["method"]},
          {"quant.bits", std::to_string(c["bits"].get<int>())},
          {"quant.group_size", std::to_string(c["group_size"].get<int>())},
          {"quant.sym", b(c["sym"])},
          {"quant.gptq.act_order", b(c["act_order"])},
          {"quant.gptq.static_groups", b(c["static_groups"])},
          {"quant.clip", b(c["clip"])},
          {"quant.gptq.block_size", std::to_string(c["block_size"].get<int>())},
          {"quant.gptaq.alpha", fmt::format("{}", c["alpha"].get<double>())},
          {"quant.scale_rounding", c["scale_rounding"]},
          {"quant.gptq.group_params", c["group_params"]}};
}

class Fixture : public ::testing::TestWithParam<size_t> {};

TEST_P(Fixture, MatchesNumpyReference) {
  const Inputs& in = inputs();
  const nlohmann::json& c = in.meta["cases"][GetParam()];
  SCOPED_TRACE(c["name"].get<std::string>());
  const std::string method = c["method"];
  const QuantizedLinear q = test::quantize_with(in.W, &in.H, &in.D, settings_of(c), "fixture");

  EXPECT_EQ(q.method, c["method"].get<std::string>());
  const auto codes = c["codes"].get<std::vector<int>>();
  ASSERT_EQ(q.codes.size(), codes.size());
  int64_t mismatches = 0;
  for (size_t i = 0; i < codes.size(); ++i) mismatches += q.codes[i] != codes[i];
  EXPECT_EQ(mismatches, 0) << "codes differ from the reference";
  EXPECT_EQ(q.scales, c["scales"].get<std::vector<float>>());
  EXPECT_EQ(q.zeros, c["zeros"].get<std::vector<int32_t>>());
  EXPECT_EQ(q.g_idx, c["g_idx"].get<std::vector<int32_t>>());
  EXPECT_EQ(q.perm, c["perm"].get<std::vector<int32_t>>());
  const double loss = c["loss"];
  EXPECT_NEAR(q.loss, loss, 1e-9 * loss);
  EXPECT_DOUBLE_EQ(q.damp, c["damp"].get<double>());
  EXPECT_DOUBLE_EQ(q.alpha, method == "gptaq" ? c["alpha"].get<double>() : 0.0);

  // The dead input column dequantizes to exactly 0 (GPTQ zeroes it).
  if (method != "rtn") {
    const std::vector<float> w = q.dequantize();
    const int64_t dead = in.meta["dead_column"];
    for (int64_t r = 0; r < q.rows; ++r) EXPECT_EQ(w[r * q.cols + dead], 0.0f) << "row " << r;
  }
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
  return inputs().meta["cases"][info.param]["name"];
}

INSTANTIATE_TEST_SUITE_P(Quant, Fixture, ::testing::Range<size_t>(0, 19), case_name);

TEST(Fixture, CaseCountMatchesTheFile) { EXPECT_EQ(inputs().meta["cases"].size(), 19u); }

// Rows are independent: a slice of rows rounds exactly like those rows of the full layer.
TEST(Fixture, RowSliceEqualsFullLayer) {
  const Inputs& in = inputs();
  const test::Settings opt{{"quant.gptq.act_order", "true"}, {"quant.group_size", "32"}};
  const QuantizedLinear full = test::quantize_with(in.W, &in.H, nullptr, opt, "full");
  const QuantizedLinear part = test::quantize_with(in.W.slice_rows(4, 11).clone(), &in.H, nullptr, opt, "part");
  for (int64_t r = 0; r < part.rows; ++r)
    for (int64_t k = 0; k < part.cols; ++k)
      ASSERT_EQ(part.codes[r * part.cols + k], full.codes[(r + 4) * full.cols + k]) << r << "," << k;
}

}  // namespace
}  // namespace maca::quant
