// GPTQ on awkward Hessians: damping retries (with their warning), a Hessian
// that stays indefinite (an error naming the layer), dead input columns.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/quantize_with.h"
#include "core/error.h"
#include "quant/quantize.h"
#include "random_matrix.h"

namespace maca::quant {
namespace {

// H = 2/N XᵀX (double sums, stored f32) for X [N, n].
Tensor gram(const Tensor& x) {
  const int64_t N = x.dim(0), n = x.dim(1);
  Tensor h = Tensor::empty({n, n});
  const float* p = x.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t r = 0; r < N; ++r) s += static_cast<double>(p[r * n + i]) * p[r * n + j];
      h.data<float>()[i * n + j] = static_cast<float>(2 * s / N);
    }
  return h;
}

void expect_finite(const QuantizedLinear& q) {
  for (float s : q.scales) EXPECT_TRUE(std::isfinite(s) && s > 0);
  EXPECT_TRUE(std::isfinite(q.loss));
  for (float w : q.dequantize()) ASSERT_TRUE(std::isfinite(w));
}

// Captures spdlog output while alive.
class LogCapture {
 public:
  LogCapture() : saved_(spdlog::default_logger()) {
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)));
  }
  ~LogCapture() { spdlog::set_default_logger(saved_); }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> saved_;
};

TEST(GptqRobust, IndefiniteHessianIsDampedWithRetries) {
  // Rank 4 of 32, then shifted by −5% of the mean diagonal: λ = 0.01 cannot
  // make it positive definite, λ = 0.1 can.
  const Tensor x = random_matrix(64, 32, 1, 1.0f);
  Tensor low = Tensor::zeros({64, 32});
  const Tensor a = random_matrix(64, 4, 2, 1.0f), b = random_matrix(4, 32, 3, 1.0f);
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t j = 0; j < 32; ++j)
      for (int64_t k = 0; k < 4; ++k)
        low.data<float>()[r * 32 + j] += a.data<float>()[r * 4 + k] * b.data<float>()[k * 32 + j];
  Tensor h = gram(low);
  double mean = 0;
  for (int64_t i = 0; i < 32; ++i) mean += h.data<float>()[i * 33] / 32.0;
  for (int64_t i = 0; i < 32; ++i) h.data<float>()[i * 33] -= static_cast<float>(0.05 * mean);

  LogCapture log;
  const QuantizedLinear q = test::quantize_with(random_matrix(8, 32, 4, 0.1f), &h, nullptr,
                                                {{"quant.group_size", "16"}, {"quant.gptq.act_order", "true"}},
                                                "blk.0.q_proj");
  EXPECT_NEAR(q.damp, 0.1, 1e-15);
  expect_finite(q);
  EXPECT_NE(log.str().find("blk.0.q_proj"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("0.1"), std::string::npos) << log.str();
}

TEST(GptqRobust, HopelessHessianIsAnErrorNamingTheLayer) {
  Tensor h = Tensor::zeros({4, 4});
  for (int64_t i = 0; i < 4; ++i) h.data<float>()[i * 5] = 1;
  h.data<float>()[1] = h.data<float>()[4] = 100;  // eigenvalue −99
  LogCapture log;
  try {
    test::quantize_with(random_matrix(3, 4, 5, 0.1f), &h, nullptr,
                        {{"quant.group_size", "-1"}, {"quant.damp_retries", "2"}},  // λ up to 1: not enough
                        "blk.3.down_proj");
    FAIL() << "expected maca::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.3.down_proj"), std::string::npos) << e.what();
  }
}

TEST(GptqRobust, AllZeroInputColumnIsDead) {
  Tensor x = random_matrix(128, 64, 6, 1.0f);
  for (int64_t r = 0; r < 128; ++r) x.data<float>()[r * 64 + 9] = 0;
  const Tensor h = gram(x);
  const Tensor w = random_matrix(6, 64, 7, 0.1f);
  for (bool sym : {true, false})
    for (bool act_order : {false, true}) {
      const QuantizedLinear q = test::quantize_with(
          w, &h, nullptr,
          {{"quant.sym", sym ? "true" : "false"}, {"quant.gptq.act_order", act_order ? "true" : "false"},
           {"quant.group_size", "32"}},
          "dead");
      expect_finite(q);
      EXPECT_DOUBLE_EQ(q.damp, 0.01);
      const int64_t g = q.g_idx[9];
      for (int64_t r = 0; r < q.rows; ++r) EXPECT_EQ(q.codes[r * 64 + 9], q.zeros[g * q.rows + r]) << "row " << r;
    }
}

TEST(GptqRobust, MissingStatisticsAreErrors) {
  const Tensor w = random_matrix(4, 8, 8, 0.1f);
  const test::Settings row{{"quant.group_size", "-1"}};
  for (const char* m : {"gptq", "gptaq", "snrq", "ksnrq"}) {
    test::Settings s = row;
    s["quant.method"] = m;
    EXPECT_THROW(test::quantize_with(w, nullptr, nullptr, s, "l"), Error) << m;
  }
  const Tensor h = gram(random_matrix(16, 8, 9, 1.0f));
  for (const char* m : {"gptaq", "snrq", "ksnrq"}) {  // asymmetric: D is required too
    test::Settings s = row;
    s["quant.method"] = m;
    EXPECT_THROW(test::quantize_with(w, &h, nullptr, s, "l"), Error) << m;
  }
  test::Settings rtn = row;
  rtn["quant.method"] = "rtn";
  EXPECT_NO_THROW(test::quantize_with(w, nullptr, nullptr, rtn, "l"));
}

}  // namespace
}  // namespace maca::quant

namespace maca::quant {
namespace {

// quant.partial_groups: 80 columns in groups of 32 end with a 16-column group,
// whose parameters come from those 16 columns alone (so RTN's codes there
// equal RTN with groups of 16); GPTQ (with and without act-order) gives
// ceil(80/32) = 3 groups and finite output.
TEST(PartialGroups, LastGroupIsShorter) {
  const Tensor w = random_matrix(8, 80, 3, 0.05f);
  test::Settings opt{{"quant.method", "rtn"}, {"quant.group_size", "32"}};
  EXPECT_THROW(test::quantize_with(w, nullptr, nullptr, opt, "l"), ConfigError);
  opt["quant.partial_groups"] = "true";
  const QuantizedLinear a = test::quantize_with(w, nullptr, nullptr, opt, "l");
  opt["quant.group_size"] = "16";
  const QuantizedLinear b = test::quantize_with(w, nullptr, nullptr, opt, "l");
  EXPECT_EQ(a.n_groups(), 3);
  for (int64_t r = 0; r < 8; ++r)
    for (int64_t k = 64; k < 80; ++k) EXPECT_EQ(a.codes[r * 80 + k], b.codes[r * 80 + k]) << r << "," << k;

  const Tensor h = gram(random_matrix(256, 80, 4, 1.0f));
  for (bool act_order : {false, true}) {
    const QuantizedLinear q = test::quantize_with(w, &h, nullptr,
                                                  {{"quant.group_size", "32"}, {"quant.partial_groups", "true"},
                                                   {"quant.gptq.act_order", act_order ? "true" : "false"}},
                                                  "l");
    EXPECT_EQ(q.n_groups(), 3);
    EXPECT_EQ(*std::max_element(q.g_idx.begin(), q.g_idx.end()), 2);
    expect_finite(q);
  }
}

}  // namespace
}  // namespace maca::quant
