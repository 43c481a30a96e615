// The CUDA linear-algebra ops (kernels/cuda: linear, gemm, gram_update,
// cholesky, cholesky_solve, triangular_inverse, gptq_columns) against the CPU
// oracle, each through backend/ops.h on a CPU and a CUDA context with the
// same fixed-seed inputs. Every tolerance sits beside its case with the
// reason. Skips at run time when no GPU is visible (label gpu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "tests/backend/gpu_test_util.h"

namespace maca::backend {
namespace {

using namespace gpu_test;  // NOLINT(google-build-using-namespace): the shared test helpers


TEST(GpuLinalg, LinearWithAndWithoutBias) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t m = 333, k = 896, n = 4864;
  const Tensor x = random_tensor({m, k}, 1), w = random_tensor({n, k}, 2, 0.03), bias = random_tensor({n}, 3);
  const Tensor xd = c.gpu->to_device(x), wd = c.gpu->to_device(w), bd = c.gpu->to_device(bias);
  std::vector<double> x_norm(m, 0.0), w_norm(n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) x_norm[i] += std::pow(x.data<float>()[i * k + p], 2);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p) w_norm[j] += std::pow(w.data<float>()[j * k + p], 2);
  const std::vector<int64_t> seq_lens = {200, 133};
  for (const bool with_bias : {false, true}) {
    Tensor y_cpu = Tensor::empty({m, n});
    Tensor y_gpu = c.gpu->empty({m, n}, DType::F32);
    const Tensor none;
    linear(*c.cpu, x, w, with_bias ? bias : none, seq_lens, y_cpu);
    linear(*c.gpu, xd, wd, with_bias ? bd : none, seq_lens, y_gpu);
    const Tensor y = c.gpu->to_host(y_gpu);
    int64_t bad = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        // Two fp32 sums of 896 products in different orders: the difference is
        // ~√K·u·|x_i|·|w_j| ≈ 2e-6 of the Cauchy–Schwarz scale; 1e-5 of it.
        const double tol = 1e-5 * std::sqrt(x_norm[i] * w_norm[j]);
        const double d = std::abs(static_cast<double>(y.data<float>()[i * n + j]) - y_cpu.data<float>()[i * n + j]);
        if (!(d <= tol) && bad++ < 5) ADD_FAILURE() << "bias " << with_bias << " y[" << i << "," << j << "] diff " << d;
      }
    EXPECT_EQ(bad, 0) << "bias " << with_bias;
  }
}

// Row-major C [m, n] = alpha·op(A)·op(B) + beta·C with padded leading
// dimensions, all four transpose combinations; the padding must not change.
template <class T>
void check_gemm(Contexts& c, double rel_tol) {
  const int64_t m = 257, n = 389, k = 131;
  const T alpha = static_cast<T>(0.7), beta = static_cast<T>(-0.3);
  uint32_t seed = 10;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, lda = a_cols + 3;
      const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n, ldb = b_cols + 5;
      const int64_t ldc = n + 2;
      const auto a = random_vector<T>(static_cast<size_t>(a_rows * lda), ++seed);
      const auto b = random_vector<T>(static_cast<size_t>(b_rows * ldb), ++seed);
      const auto c0 = random_vector<T>(static_cast<size_t>(m * ldc), ++seed);
      auto c_cpu = c0;
      gemm(*c.cpu, ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c_cpu.data(), ldc);
      Tensor ad = upload(*c.gpu, a), bd = upload(*c.gpu, b), cd = upload(*c.gpu, c0);
      gemm(*c.gpu, ta, tb, m, n, k, alpha, ptr<T>(ad), lda, ptr<T>(bd), ldb, beta, ptr<T>(cd), ldc);
      const auto c_gpu = download<T>(*c.gpu, cd);
      auto at = [&](int64_t i, int64_t p) { return ta ? a[p * lda + i] : a[i * lda + p]; };
      auto bt = [&](int64_t p, int64_t j) { return tb ? b[j * ldb + p] : b[p * ldb + j]; };
      int64_t bad = 0;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < ldc; ++j) {
          const T got = c_gpu[i * ldc + j], want = c_cpu[i * ldc + j];
          if (j >= n) {
            if (!same_bits(got, c0[i * ldc + j]) && bad++ < 5) ADD_FAILURE() << "padding changed at " << i << "," << j;
            continue;
          }
          double scale = std::abs(static_cast<double>(beta) * c0[i * ldc + j]);
          for (int64_t p = 0; p < k; ++p) scale += std::abs(static_cast<double>(alpha) * at(i, p) * bt(p, j));
          const double d = std::abs(static_cast<double>(got) - want);
          if (!(d <= rel_tol * scale) && bad++ < 5)
            ADD_FAILURE() << "ta " << ta << " tb " << tb << " C[" << i << "," << j << "] diff " << d << " scale "
                          << scale;
        }
      EXPECT_EQ(bad, 0) << "ta " << ta << " tb " << tb;
    }
}

TEST(GpuLinalg, GemmF32AllTransposes) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  // fp32 sums of 131 terms: ~√k·u ≈ 7e-7 of Σ|α·a·b| + |β·c| in practice, k·u ≈ 8e-6 at worst.
  check_gemm<float>(c, 1e-5);
}

TEST(GpuLinalg, GemmF64AllTransposes) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  // fp64 sums of 131 terms: k·u ≈ 1.5e-14 of the same scale at worst.
  check_gemm<double>(c, 1e-13);
}

// c = alpha·xᵀx + beta·c on x [k, n]: the upper triangle (column >= row)
// compared, the strict lower triangle and the padding left bit for bit.
template <class T>
void check_gram_update(Contexts& c, double rel_tol) {
  const int64_t n = 300, k = 1000, ldx = n + 7, ldc = n + 3;
  const T alpha = static_cast<T>(0.5), beta = static_cast<T>(0.9);
  const auto x = random_vector<T>(static_cast<size_t>(k * ldx), 40);
  const auto c0 = random_vector<T>(static_cast<size_t>(n * ldc), 41);
  auto c_cpu = c0;
  gram_update(*c.cpu, n, k, alpha, x.data(), ldx, beta, c_cpu.data(), ldc);
  Tensor xd = upload(*c.gpu, x), cd = upload(*c.gpu, c0);
  gram_update(*c.gpu, n, k, alpha, ptr<T>(xd), ldx, beta, ptr<T>(cd), ldc);
  const auto c_gpu = download<T>(*c.gpu, cd);
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const T got = c_gpu[i * ldc + j];
      if (j < i || j >= n) {
        if (!same_bits(got, c0[i * ldc + j]) && bad++ < 5) ADD_FAILURE() << "unwritten c[" << i << "," << j << "]";
        continue;
      }
      double scale = std::abs(static_cast<double>(beta) * c0[i * ldc + j]);
      for (int64_t p = 0; p < k; ++p) scale += std::abs(static_cast<double>(alpha) * x[p * ldx + i] * x[p * ldx + j]);
      const double d = std::abs(static_cast<double>(got) - c_cpu[i * ldc + j]);
      if (!(d <= rel_tol * scale) && bad++ < 5) ADD_FAILURE() << "c[" << i << "," << j << "] diff " << d;
    }
  EXPECT_EQ(bad, 0);
}

TEST(GpuLinalg, GramUpdateF32UpperTriangle) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  // fp32 sums of 1000 products: ~√k·u ≈ 2e-6 of Σ|α·x·x| + |β·c| in practice.
  check_gram_update<float>(c, 1e-5);
}

TEST(GpuLinalg, GramUpdateF64UpperTriangle) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  // fp64 sums of 1000 products: k·u ≈ 1.1e-13 of the scale at worst.
  check_gram_update<double>(c, 2e-13);
}

TEST(GpuLinalg, CholeskyBothFactorsAndNotPositiveDefinite) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t n = 257, lda = n + 3;
  const auto spd = spd_matrix(n, lda, 50);
  for (const bool upper : {false, true}) {
    // Garbage in the triangle that must not be read.
    auto a0 = spd;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        if (upper ? j < i : j > i) a0[i * lda + j] = -777.0;
    auto a_cpu = a0;
    ASSERT_TRUE(cholesky(*c.cpu, n, a_cpu.data(), lda, upper));
    Tensor ad = upload(*c.gpu, a0);
    ASSERT_TRUE(cholesky(*c.gpu, n, ptr<double>(ad), lda, upper)) << "upper " << upper;
    const auto a_gpu = download<double>(*c.gpu, ad);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < lda; ++j) {
        const double got = a_gpu[i * lda + j];
        if (j >= n) {
          if (!std::isnan(got) && bad++ < 5) ADD_FAILURE() << "padding changed at " << i << "," << j;
        } else if (upper ? j < i : j > i) {
          if (got != 0.0 && bad++ < 5) ADD_FAILURE() << "upper " << upper << " other triangle " << i << "," << j;
        } else if (!(std::abs(got - a_cpu[i * lda + j]) <= 1e-12) && bad++ < 5) {
          // Factor entries are O(1) and κ(a) ≲ 5: backward-stable fp64 Cholesky
          // differs by ~n·u·κ ≈ 1.5e-13 at worst.
          ADD_FAILURE() << "upper " << upper << " factor " << i << "," << j << " diff "
                        << std::abs(got - a_cpu[i * lda + j]);
        }
      }
    EXPECT_EQ(bad, 0) << "upper " << upper;

    // A negative pivot late in the matrix (after a few of potrf's blocks).
    auto indefinite = a0;
    indefinite[200 * lda + 200] = -1.0;
    auto i_cpu = indefinite;
    EXPECT_FALSE(cholesky(*c.cpu, n, i_cpu.data(), lda, upper));
    Tensor id = upload(*c.gpu, indefinite);
    EXPECT_FALSE(cholesky(*c.gpu, n, ptr<double>(id), lda, upper)) << "upper " << upper;
  }
}

TEST(GpuLinalg, TriangularInverse) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t n = 301, ldl = n + 1;
  auto l = spd_matrix(n, ldl, 60);
  ASSERT_TRUE(cholesky(*c.cpu, n, l.data(), ldl, false));
  for (const bool reversed : {false, true}) {
    std::vector<double> out_cpu = l;
    triangular_inverse(*c.cpu, n, out_cpu.data(), ldl, reversed);
    Tensor ld = upload(*c.gpu, l);
    triangular_inverse(*c.gpu, n, ptr<double>(ld), ldl, reversed);
    const auto out = download<double>(*c.gpu, ld);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < ldl; ++j) {
        const double got = out[i * ldl + j];
        if (j >= n) {
          if (!same_bits(got, l[i * ldl + j]) && bad++ < 5) ADD_FAILURE() << "padding " << i << "," << j << " changed";
        } else if (reversed ? j < i : j > i) {
          if (got != 0.0 && bad++ < 5) ADD_FAILURE() << "other triangle " << i << "," << j << ": " << got;
        } else if (!(std::abs(got - out_cpu[i * ldl + j]) <= 1e-12) && bad++ < 5) {
          // |L⁻¹| entries ≤ 1 (a's eigenvalues ≥ 1), κ(L) ≲ 2.3: fp64 triangular
          // solves differ by ~n·u·κ ≈ 8e-14 at worst.
          ADD_FAILURE() << "reversed " << reversed << " L^-1[" << i << "," << j << "] diff "
                        << std::abs(got - out_cpu[i * ldl + j]);
        }
      }
    EXPECT_EQ(bad, 0) << "reversed " << reversed;
  }
}

TEST(GpuLinalg, CholeskySolveBothFactors) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t n = 200, m = 37, ldf = n + 1, ldb = n + 4;
  for (const bool upper : {false, true}) {
    const SolveCase s = cholesky_solve_both(c, n, m, ldf, ldb, 70, upper);
    ASSERT_TRUE(s.factored);
    const std::vector<double>& b0 = s.b0;
    const std::vector<double>& b_cpu = s.b_cpu;
    const std::vector<double>& b_gpu = s.b_gpu;
    int64_t bad = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < ldb; ++j) {
        const double got = b_gpu[i * ldb + j];
        if (j >= n) {
          if (!same_bits(got, b0[i * ldb + j]) && bad++ < 5) ADD_FAILURE() << "padding changed at " << i << "," << j;
        } else if (!(std::abs(got - b_cpu[i * ldb + j]) <= 1e-11) && bad++ < 5) {
          // Solutions are O(1) (‖A⁻¹‖ ≤ 1, |b| ~ 1) and κ(A) ≲ 5: two fp64
          // solves differ by ~n·u·κ·‖b_i‖ ≈ 1.5e-12 at worst.
          ADD_FAILURE() << "upper " << upper << " x[" << i << "," << j << "] diff "
                        << std::abs(got - b_cpu[i * ldb + j]);
        }
      }
    EXPECT_EQ(bad, 0) << "upper " << upper;
  }
}

TEST(GpuLinalg, GptqColumnsMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t rows = 256, ncols = 128, group = 32, n_groups = ncols / group;
  const int64_t ldw = ncols + 5, ldh = ncols + 1, ldp = rows, ldc = ncols + 2, lde = ncols + 3;
  const int maxq = 15;
  Context& cpu = *c.cpu;

  // hinv: the upper Cholesky factor of H⁻¹ for a damped Gram matrix H, as
  // GPTQ prepares it (through the CPU ops): H = L·Lᵀ, H⁻¹ = L⁻ᵀ·L⁻¹.
  const int64_t k = 512;
  const auto x = random_vector<double>(static_cast<size_t>(k * ncols), 80);
  std::vector<double> h(static_cast<size_t>(ncols * ncols), 0.0);
  gram_update(cpu, ncols, k, 1.0 / static_cast<double>(k), x.data(), ncols, 0.0, h.data(), ncols);
  for (int64_t i = 0; i < ncols; ++i) {
    for (int64_t j = 0; j < i; ++j) h[i * ncols + j] = h[j * ncols + i];
    h[i * ncols + i] += 0.01;
  }
  ASSERT_TRUE(cholesky(cpu, ncols, h.data(), ncols, false));
  std::vector<double> linv = h;
  triangular_inverse(cpu, ncols, linv.data(), ncols, false);
  std::vector<double> hinv(static_cast<size_t>(ncols * ldh), 0.0);
  gemm(cpu, true, false, ncols, ncols, ncols, 1.0, linv.data(), ncols, linv.data(), ncols, 0.0, hinv.data(), ldh);
  ASSERT_TRUE(cholesky(cpu, ncols, hinv.data(), ldh, true));

  // w and per-row, per-group asymmetric min-max grids of 16 levels.
  const auto w0 = random_vector<double>(static_cast<size_t>(rows * ldw), 81);
  std::vector<float> scales(static_cast<size_t>(n_groups * ldp));
  std::vector<int32_t> zeros(scales.size()), grp(static_cast<size_t>(ncols));
  for (int64_t j = 0; j < ncols; ++j) grp[j] = static_cast<int32_t>(j / group);
  for (int64_t g = 0; g < n_groups; ++g)
    for (int64_t r = 0; r < rows; ++r) {
      double lo = 0.0, hi = 0.0;
      for (int64_t j = g * group; j < (g + 1) * group; ++j) {
        lo = std::min(lo, w0[r * ldw + j]);
        hi = std::max(hi, w0[r * ldw + j]);
      }
      const float s = static_cast<float>((hi - lo) / maxq);
      scales[g * ldp + r] = s;
      zeros[g * ldp + r] = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / s), 0.0, static_cast<double>(maxq)));
    }

  auto w_cpu = w0;
  std::vector<uint8_t> codes_cpu(static_cast<size_t>(rows * ldc), 0);
  std::vector<double> err_cpu(static_cast<size_t>(rows * lde), 0.0), loss_cpu(static_cast<size_t>(rows), 0.0);
  const GptqColumns cpu_args{.w = w_cpu.data(),
                             .rows = rows,
                             .ncols = ncols,
                             .ldw = ldw,
                             .hinv = hinv.data(),
                             .ldh = ldh,
                             .scales = scales.data(),
                             .zeros = zeros.data(),
                             .ldp = ldp,
                             .grp = grp.data(),
                             .maxq = maxq,
                             .codes = codes_cpu.data(),
                             .ldc = ldc,
                             .err = err_cpu.data(),
                             .lde = lde,
                             .loss = loss_cpu.data()};
  Tensor wd = upload(*c.gpu, w0), hd = upload(*c.gpu, hinv), sd = upload(*c.gpu, scales), zd = upload(*c.gpu, zeros),
         gd = upload(*c.gpu, grp), cd = upload(*c.gpu, codes_cpu), ed = upload(*c.gpu, err_cpu),
         ld = upload(*c.gpu, loss_cpu);
  const GptqColumns gpu_args{.w = ptr<double>(wd),
                             .rows = rows,
                             .ncols = ncols,
                             .ldw = ldw,
                             .hinv = ptr<double>(hd),
                             .ldh = ldh,
                             .scales = ptr<float>(sd),
                             .zeros = ptr<int32_t>(zd),
                             .ldp = ldp,
                             .grp = ptr<int32_t>(gd),
                             .maxq = maxq,
                             .codes = ptr<uint8_t>(cd),
                             .ldc = ldc,
                             .err = ptr<double>(ed),
                             .lde = lde,
                             .loss = ptr<double>(ld)};
  // Group by group, as GPTQ's dynamic groups drive it.
  for (int64_t c0 = 0; c0 < ncols; c0 += group) {
    gptq_columns(cpu, cpu_args, c0, c0 + group);
    gptq_columns(*c.gpu, gpu_args, c0, c0 + group);
  }
  const auto w_gpu = download<double>(*c.gpu, wd);
  const auto codes_gpu = download<uint8_t>(*c.gpu, cd);
  const auto err_gpu = download<double>(*c.gpu, ed);
  const auto loss_gpu = download<double>(*c.gpu, ld);

  // The kernel does the CPU's operations in the CPU's order without FMA, so
  // the results should be identical; the test allows a rounding tie decided
  // differently (≤ 0.01% of the codes) and compares w, err and loss at 1e-12
  // relative in the rows whose codes all agree.
  int64_t code_mismatch = 0, rows_compared = 0, bad = 0, not_bitwise = 0;
  auto close = [](double got, double want) { return std::abs(got - want) <= 1e-12 * std::max(std::abs(want), 1e-3); };
  for (int64_t r = 0; r < rows; ++r) {
    int64_t row_mismatch = 0;
    for (int64_t j = 0; j < ncols; ++j) row_mismatch += codes_gpu[r * ldc + j] != codes_cpu[r * ldc + j];
    code_mismatch += row_mismatch;
    if (row_mismatch) continue;
    ++rows_compared;
    for (int64_t j = 0; j < ncols; ++j) {
      const double wg = w_gpu[r * ldw + j], wc = w_cpu[r * ldw + j];
      const double eg = err_gpu[r * lde + j], ec = err_cpu[r * lde + j];
      not_bitwise += !same_bits(wg, wc) + !same_bits(eg, ec);
      if (!(close(wg, wc) && close(eg, ec)) && bad++ < 5)
        ADD_FAILURE() << "row " << r << " col " << j << ": w " << wg << " vs " << wc << ", err " << eg << " vs " << ec;
    }
    not_bitwise += !same_bits(loss_gpu[r], loss_cpu[r]);
    if (!close(loss_gpu[r], loss_cpu[r]) && bad++ < 5)
      ADD_FAILURE() << "row " << r << " loss " << loss_gpu[r] << " vs " << loss_cpu[r];
  }
  std::printf("gptq_columns: %lld code mismatches of %lld, %lld rows compared, %lld values not bit-identical\n",
              static_cast<long long>(code_mismatch), static_cast<long long>(rows * ncols),
              static_cast<long long>(rows_compared), static_cast<long long>(not_bitwise));
  EXPECT_LE(code_mismatch, rows * ncols / 10000);
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace maca::backend
