// fast_expf against std::exp (in double) over the range softmax, cross-entropy
// and SiLU feed it.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/fast_exp.h"

using maca::kernels::cpu::fast_expf;

TEST(FastExp, RelativeErrorWithinThreeUlp) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.000731f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(fast_expf(x) - want) / want);
  }
  EXPECT_LT(worst, 3 * 5.96e-8) << "worst relative error " << worst;
}

TEST(FastExp, ExactPointsAndClamping) {
  EXPECT_EQ(fast_expf(0.0f), 1.0f);
  EXPECT_GT(fast_expf(-1000.0f), 0.0f);
  EXPECT_LT(fast_expf(-1000.0f), 1.3e-38f);
  EXPECT_TRUE(std::isfinite(fast_expf(1000.0f)));
}
