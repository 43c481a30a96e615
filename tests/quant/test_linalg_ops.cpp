// The linear-algebra backend ops GPTQ and the Hessian use (gram_update,
// double gemm, cholesky, triangular_inverse, cholesky_solve, gptq_columns),
// CPU against direct loops.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"

namespace maca::backend {
namespace {

std::vector<double> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return v;
}

// SPD matrix XᵀX/N + 0.1·I of size n.
std::vector<double> spd(int64_t n, uint32_t seed) {
  const int64_t N = 3 * n;
  const std::vector<double> x = random_vec(static_cast<size_t>(N * n), seed);
  std::vector<double> a(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t r = 0; r < N; ++r) a[i * n + j] += x[r * n + i] * x[r * n + j] / N;
      if (i == j) a[i * n + j] += 0.1;
    }
  return a;
}

class LinalgOps : public ::testing::Test {
 protected:
  std::unique_ptr<Context> ctx_ = Context::create(Device::cpu());
};

TEST_F(LinalgOps, GramUpdateWritesTheUpperTriangle) {
  const int64_t n = 7, k = 11;
  const std::vector<double> x = random_vec(static_cast<size_t>(k * n), 1);
  std::vector<double> c(static_cast<size_t>(n * n), 5.0);
  std::vector<float> xf(x.begin(), x.end()), cf(c.begin(), c.end());
  gram_update(*ctx_, n, k, 2.0, x.data(), n, 1.0, c.data(), n);
  gram_update(*ctx_, n, k, 2.0f, xf.data(), n, 1.0f, cf.data(), n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double ref = 5.0;
      if (j >= i)
        for (int64_t r = 0; r < k; ++r) ref += 2.0 * x[r * n + i] * x[r * n + j];
      EXPECT_NEAR(c[i * n + j], ref, 1e-12) << i << "," << j;
      EXPECT_NEAR(cf[i * n + j], ref, 1e-4) << i << "," << j;
    }
}

TEST_F(LinalgOps, DoubleGemmTransposed) {
  const int64_t m = 5, n = 4, k = 6;
  const std::vector<double> a = random_vec(static_cast<size_t>(k * m), 2),
                            b = random_vec(static_cast<size_t>(k * n), 3);
  std::vector<double> c(static_cast<size_t>(m * n), 1.0);
  gemm(*ctx_, true, false, m, n, k, 1.0, a.data(), m, b.data(), n, 1.0, c.data(), n);  // c += aᵀb
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double ref = 1.0;
      for (int64_t r = 0; r < k; ++r) ref += a[r * m + i] * b[r * n + j];
      EXPECT_NEAR(c[i * n + j], ref, 1e-12);
    }
}

TEST_F(LinalgOps, CholeskyFactorsInverseAndSolve) {
  const int64_t n = 9;
  const std::vector<double> a = spd(n, 4);
  for (bool upper : {false, true}) {
    std::vector<double> f = a;
    ASSERT_TRUE(cholesky(*ctx_, n, f.data(), n, upper));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        if (upper ? j < i : j > i) {
          EXPECT_EQ(f[i * n + j], 0.0);
        }
        double s = 0;  // L·Lᵀ or Uᵀ·U
        for (int64_t k = 0; k < n; ++k) s += upper ? f[k * n + i] * f[k * n + j] : f[i * n + k] * f[j * n + k];
        EXPECT_NEAR(s, a[i * n + j], 1e-12);
      }
    // b·A⁻¹ by the solve, checked by multiplying back.
    const int64_t m = 3;
    const std::vector<double> b = random_vec(static_cast<size_t>(m * n), 5);
    std::vector<double> x = b;
    cholesky_solve(*ctx_, n, m, f.data(), n, upper, x.data(), n);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t k = 0; k < n; ++k) s += x[r * n + k] * a[k * n + j];
        EXPECT_NEAR(s, b[r * n + j], 1e-10);
      }
    if (!upper) {  // L⁻¹ of the lower factor: lower triangular, L·L⁻¹ = I
      std::vector<double> inv = f;
      triangular_inverse(*ctx_, n, inv.data(), n, false);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          if (j > i) {
            EXPECT_EQ(inv[i * n + j], 0.0);
          }
          double s = 0;
          for (int64_t k = 0; k < n; ++k) s += f[i * n + k] * inv[k * n + j];
          EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-10);
        }
    }
  }
}

// Several column blocks (the kernel solves 64 columns at a time, in waves of
// one block per thread, in place): L·L⁻¹ = I, exact zeros above the diagonal,
// the padding past n untouched, the same bits for 1 and 3 threads, and the
// reversed form the exact 180° rotation.
TEST_F(LinalgOps, TriangularInverseAcrossBlocks) {
  const int64_t n = 150, ld = n + 3;
  std::vector<double> l = random_vec(static_cast<size_t>(n * ld), 8);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (j > i) l[i * ld + j] = 0;
      if (j == i) l[i * ld + j] = 4 + std::abs(l[i * ld + j]);
    }
  const int threads_before = omp_get_max_threads();
  auto inverse = [&](int threads, bool reversed) {
    const auto ctx = Context::create(Device::cpu(), threads);
    std::vector<double> x = l;
    triangular_inverse(*ctx, n, x.data(), ld, reversed);
    return x;
  };
  const std::vector<double> inv = inverse(1, false), inv3 = inverse(3, false), rev = inverse(3, true);
  Context::create(Device::cpu(), threads_before);
  EXPECT_EQ(inv, inv3);
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += l[i * ld + k] * inv[k * ld + j];
      worst = std::max(worst, std::abs(s - (i == j ? 1.0 : 0.0)));
      if (j > i) {
        ASSERT_EQ(inv[i * ld + j], 0.0);
      }
      ASSERT_EQ(rev[i * ld + j], inv[(n - 1 - i) * ld + (n - 1 - j)]) << i << "," << j;
    }
    for (int64_t j = n; j < ld; ++j) {
      ASSERT_EQ(inv[i * ld + j], l[i * ld + j]) << "padding " << i << "," << j;
      ASSERT_EQ(rev[i * ld + j], l[i * ld + j]) << "padding " << i << "," << j;
    }
  }
  EXPECT_LT(worst, 1e-12);
}

TEST_F(LinalgOps, CholeskyReportsIndefinite) {
  std::vector<double> a = {1, 2, 2, 1};
  EXPECT_FALSE(cholesky(*ctx_, 2, a.data(), 2, false));
}

TEST_F(LinalgOps, GptqColumnsFollowsTheDefinition) {
  const int64_t rows = 3, nc = 5;
  std::vector<double> w = random_vec(static_cast<size_t>(rows * nc), 6), ref = w;
  std::vector<double> h = spd(nc, 7);
  ASSERT_TRUE(cholesky(*ctx_, nc, h.data(), nc, true));
  const std::vector<float> scales = {0.25f, 0.5f, 0.125f, 0.3f, 0.2f, 0.1f};  // [2 groups, 3 rows]
  const std::vector<int32_t> zeros = {8, 7, 9, 8, 8, 6}, grp = {0, 0, 1, 1, 1};
  std::vector<uint8_t> codes(static_cast<size_t>(rows * nc));
  std::vector<double> err(static_cast<size_t>(rows * nc)), loss(rows, 0.0);
  const GptqColumns args{w.data(), rows,        nc,        nc,           h.data(), nc,         scales.data(), zeros.data(),
                         rows,     grp.data(), 15,        codes.data(), nc,       err.data(), nc,            loss.data()};
  gptq_columns(*ctx_, args, 0, 2);
  gptq_columns(*ctx_, args, 2, nc);
  for (int64_t j = 0; j < nc; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      const double s = scales[grp[j] * rows + r], z = zeros[grp[j] * rows + r];
      const double q = std::fmin(std::fmax(std::nearbyint(ref[r * nc + j] / s) + z, 0.0), 15.0);
      EXPECT_EQ(codes[r * nc + j], q);
      const double e = (ref[r * nc + j] - s * (q - z)) / h[j * nc + j];
      EXPECT_DOUBLE_EQ(err[r * nc + j], e);
      for (int64_t k = j + 1; k < nc; ++k) ref[r * nc + k] -= e * h[j * nc + k];
    }
}

}  // namespace
}  // namespace maca::backend
