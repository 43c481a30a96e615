// The CUDA ops of the rounders (kernels/cuda: gemm_row_tiles, gather_columns,
// group_params, grid_round, and cholesky_solve's tiling) against the CPU oracle, each
// through backend/ops.h on a CPU and a CUDA context with the same fixed-seed
// inputs, plus the tiling contract on the GPU itself: a tile's rows get the
// same bits whatever else the call holds. Every tolerance sits beside its
// case with the reason. Skips at run time when no GPU is visible (label gpu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "tests/backend/gpu_test_util.h"

namespace maca::backend {
namespace {

using namespace gpu_test;  // NOLINT(google-build-using-namespace): the shared test helpers


// Rows [r0, r0 + nr) of `got` bitwise equal to `want`, every other row of
// `got` still `before` (rows of ld elements); returns the mismatches.
int64_t compare_tile(const std::vector<double>& got, const std::vector<double>& want, const std::vector<double>& before,
                     int64_t rows, int64_t ld, int64_t r0, int64_t nr) {
  int64_t bad = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const bool in_tile = i >= r0 && i < r0 + nr;
    const std::vector<double>& ref = in_tile ? want : before;
    for (int64_t j = 0; j < ld; ++j)
      if (!same_bits(got[i * ld + j], ref[i * ld + j]) && bad++ < 5)
        ADD_FAILURE() << (in_tile ? "tile rows [" : "outside the tile rows [") << r0 << ", " << r0 + nr << "): element "
                      << i << "," << j << ": " << got[i * ld + j] << " vs " << ref[i * ld + j];
  }
  return bad;
}

TEST(GpuRounding, GemmRowTilesMatchesCpuAndTilesStandAlone) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  // m = 100: three full tiles of 32 and a partial one of 4.
  const int64_t tile = 32, m = 100, n = 300, k = 128, lda = k + 3, ldb = n + 5, ldc = n + 2;
  const double alpha = -1.0, beta = 1.0;
  const auto a = random_vector<double>(static_cast<size_t>(m * lda), 1);
  const auto b = random_vector<double>(static_cast<size_t>(k * ldb), 2);
  const auto c0 = random_vector<double>(static_cast<size_t>(m * ldc), 3);
  auto c_cpu = c0;
  gemm_row_tiles(*c.cpu, tile, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c_cpu.data(), ldc);
  Tensor ad = upload(*c.gpu, a), bd = upload(*c.gpu, b), cd = upload(*c.gpu, c0);
  gemm_row_tiles(*c.gpu, tile, m, n, k, alpha, ptr<double>(ad), lda, ptr<double>(bd), ldb, beta, ptr<double>(cd), ldc);
  const auto c_gpu = download<double>(*c.gpu, cd);
  int64_t bad = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const double got = c_gpu[i * ldc + j];
      if (j >= n) {
        if (!same_bits(got, c0[i * ldc + j]) && bad++ < 5) ADD_FAILURE() << "padding changed at " << i << "," << j;
        continue;
      }
      // fp64 sums of 128 products in different orders: k·u ≈ 2.8e-14 of
      // Σ|α·a·b| + |β·c| at worst; 1e-12 of it.
      double scale = std::abs(beta * c0[i * ldc + j]);
      for (int64_t p = 0; p < k; ++p) scale += std::abs(alpha * a[i * lda + p] * b[p * ldb + j]);
      const double d = std::abs(got - c_cpu[i * ldc + j]);
      if (!(d <= 1e-12 * scale) && bad++ < 5)
        ADD_FAILURE() << "C[" << i << "," << j << "] diff " << d << " scale " << scale;
    }
  EXPECT_EQ(bad, 0);

  // The contract on the GPU: rows 64..95 (a full tile) and 96..99 (the
  // partial tile) computed by a call that holds only them, the pointers offset
  // to their first row, give the bits of the m = 100 call.
  for (const auto& [r0, nr] : {std::pair<int64_t, int64_t>{64, 32}, std::pair<int64_t, int64_t>{96, 4}}) {
    Tensor alone = upload(*c.gpu, c0);
    gemm_row_tiles(*c.gpu, tile, nr, n, k, alpha, ptr<double>(ad) + r0 * lda, lda, ptr<double>(bd), ldb, beta,
                   ptr<double>(alone) + r0 * ldc, ldc);
    EXPECT_EQ(compare_tile(download<double>(*c.gpu, alone), c_gpu, c0, m, ldc, r0, nr), 0)
        << "rows [" << r0 << ", " << r0 + nr << ") alone";
  }
}

TEST(GpuRounding, GatherColumnsPermutationRangeAndManyRows) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  struct Case {
    const char* name;
    int64_t rows, ldi;
    std::vector<int32_t> index;
  };
  std::vector<Case> cases;
  {
    // A random permutation of 300 columns.
    std::vector<int32_t> perm(300);
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937 rng(20);
    std::shuffle(perm.begin(), perm.end(), rng);
    cases.push_back({"permutation", 257, 305, std::move(perm)});
    // A column range, as a group's columns are taken from a block.
    std::vector<int32_t> range(40);
    std::iota(range.begin(), range.end(), 10);
    cases.push_back({"range", 257, 305, std::move(range)});
    // More rows than the grid's 65535 × 2 threads along y: the row loop strides.
    cases.push_back({"many rows", 140000, 9, {7, 0, 3, 3, 8, 1, 2, 6}});
  }
  uint32_t seed = 21;
  for (const Case& cs : cases) {
    const auto cols = static_cast<int64_t>(cs.index.size()), ldo = cols + 3;
    const auto in = random_vector<double>(static_cast<size_t>(cs.rows * cs.ldi), ++seed);
    const std::vector<double> out0(static_cast<size_t>(cs.rows * ldo), kNaN);
    auto out_cpu = out0;
    gather_columns(*c.cpu, cs.rows, cs.index, in.data(), cs.ldi, out_cpu.data(), ldo);
    Tensor id = upload(*c.gpu, in), od = upload(*c.gpu, out0);
    gather_columns(*c.gpu, cs.rows, cs.index, ptr<double>(id), cs.ldi, ptr<double>(od), ldo);
    const auto out = download<double>(*c.gpu, od);
    // A copy: exact, the NaN padding included.
    int64_t bad = 0;
    for (size_t e = 0; e < out.size(); ++e)
      if (!same_bits(out[e], out_cpu[e]) && bad++ < 5)
        ADD_FAILURE() << cs.name << ": out[" << e / ldo << "," << e % ldo << "] " << out[e] << " vs " << out_cpu[e];
    EXPECT_EQ(bad, 0) << cs.name;
  }
}

// Rows of one column group: Gaussian rows whose spread runs from 1e-3 to 1,
// plus rows for the grid's edge cases.
std::vector<double> group_rows(int64_t rows, int64_t len, int64_t ld, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> x(static_cast<size_t>(rows * ld), kNaN);
  for (int64_t r = 0; r < rows; ++r) {
    const double spread = std::pow(10.0, -3.0 + 3.0 * static_cast<double>(r % 7) / 6.0);
    for (int64_t i = 0; i < len; ++i) x[r * ld + i] = spread * dist(rng);
  }
  for (int64_t i = 0; i < len; ++i) {
    x[0 * ld + i] = 0.0;                                // all zero: the [-1, 1] fallback
    x[1 * ld + i] = std::abs(x[1 * ld + i]);            // all positive
    x[2 * ld + i] = -std::abs(x[2 * ld + i]);           // all negative
    x[3 * ld + i] = 0.5;                                // constant
    x[4 * ld + i] = 1e-7 * dist(rng);                   // scale below fp16's smallest subnormal
    x[5 * ld + i] = 1e6 * dist(rng);                    // scale above fp16's largest finite
    x[6 * ld + i] = static_cast<double>(i % 16) - 7.5;  // on a 16-level grid exactly
  }
  return x;
}

TEST(GpuRounding, GroupParamsEveryRuleWithAndWithoutClip) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t rows = 257, len = 128, ld = len + 3;
  const auto x = group_rows(rows, len, ld, 30);
  Tensor xd = upload(*c.gpu, x);
  const std::vector<float> scale0(static_cast<size_t>(rows), std::numeric_limits<float>::quiet_NaN());
  const std::vector<int32_t> zero0(static_cast<size_t>(rows), -1);
  const grid::ScaleRule rules[] = {grid::ScaleRule::Nearest, grid::ScaleRule::Up, grid::ScaleRule::Down,
                                   grid::ScaleRule::Best, grid::ScaleRule::F32};
  for (const auto& [bits, sym] : {std::pair<int, bool>{4, true}, std::pair<int, bool>{3, false}})
    for (const bool clip : {false, true})
      for (const grid::ScaleRule rule : rules) {
        grid::GridSpec spec;
        spec.bits = bits;
        spec.sym = sym;
        spec.clip = clip;
        spec.scale_rule = rule;
        auto scale_cpu = scale0;
        auto zero_cpu = zero0;
        group_params(*c.cpu, GroupParams{.spec = spec,
                                         .x = x.data(),
                                         .rows = rows,
                                         .len = len,
                                         .ld = ld,
                                         .scale = scale_cpu.data(),
                                         .zero = zero_cpu.data()});
        Tensor sd = upload(*c.gpu, scale0), zd = upload(*c.gpu, zero0);
        group_params(*c.gpu, GroupParams{.spec = spec,
                                         .x = ptr<double>(xd),
                                         .rows = rows,
                                         .len = len,
                                         .ld = ld,
                                         .scale = ptr<float>(sd),
                                         .zero = ptr<int32_t>(zd)});
        const auto scale_gpu = download<float>(*c.gpu, sd);
        const auto zero_gpu = download<int32_t>(*c.gpu, zd);
        int64_t differ = 0;
        for (int64_t r = 0; r < rows; ++r) {
          if (same_bits(scale_gpu[r], scale_cpu[r]) && zero_gpu[r] == zero_cpu[r]) continue;
          ++differ;
          if (!clip)
            ADD_FAILURE() << "bits " << bits << " sym " << sym << " rule " << static_cast<int>(rule) << " row " << r
                          << ": scale " << scale_gpu[r] << " vs " << scale_cpu[r] << ", zero " << zero_gpu[r] << " vs "
                          << zero_cpu[r];
        }
        if (clip) {
          // The same arithmetic without FMAs on both sides, except pow in the
          // clip search (CUDA's may differ from glibc's in the last ulp): a
          // near tie between two shrink steps' errors may then be decided
          // differently. Allow it in at most 1 % of the rows.
          std::printf("group_params bits %d sym %d clip rule %d: %lld of %lld rows differ\n", bits, sym ? 1 : 0,
                      static_cast<int>(rule), static_cast<long long>(differ), static_cast<long long>(rows));
          EXPECT_LE(differ * 100, rows) << "bits " << bits << " sym " << sym << " rule " << static_cast<int>(rule);
        } else {
          // Without clip: min/max, divisions, rint and the fp16 rounding, all
          // correctly rounded on both sides: bit-identical.
          EXPECT_EQ(differ, 0) << "bits " << bits << " sym " << sym << " rule " << static_cast<int>(rule);
        }
      }
}

TEST(GpuRounding, GridRoundMatchesCpuBitForBit) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  // 257 rows of 200 columns in groups of 64 (the last one 8 wide), 4 bits asymmetric.
  const int64_t rows = 257, n = 200, ld = n + 3, g = 64, groups = (n + g - 1) / g;
  const auto x = group_rows(rows, n, ld, 31);
  grid::GridSpec spec;
  spec.sym = false;
  std::vector<float> scales(static_cast<size_t>(groups * rows));
  std::vector<int32_t> zeros(scales.size()), grp(static_cast<size_t>(n));
  for (int64_t j = 0; j < groups; ++j)
    group_params(*c.cpu, GroupParams{.spec = spec, .x = x.data() + j * g, .rows = rows, .len = std::min(g, n - j * g),
                                     .ld = ld, .scale = scales.data() + j * rows, .zero = zeros.data() + j * rows});
  for (int64_t i = 0; i < n; ++i) grp[i] = static_cast<int32_t>(i / g);
  std::vector<uint8_t> codes_cpu(static_cast<size_t>(rows * n), 0xff);
  std::vector<double> loss_cpu(static_cast<size_t>(rows), kNaN);
  grid_round(*c.cpu, {.x = x.data(), .rows = rows, .n = n, .ld = ld, .scales = scales.data(), .zeros = zeros.data(),
                      .ldp = rows, .grp = grp.data(), .maxq = spec.maxq(), .codes = codes_cpu.data(),
                      .loss = loss_cpu.data()});
  Tensor xd = upload(*c.gpu, x), sd = upload(*c.gpu, scales), zd = upload(*c.gpu, zeros), gd = upload(*c.gpu, grp),
         cd = upload(*c.gpu, std::vector<uint8_t>(codes_cpu.size(), 0xff)), ld_ = upload(*c.gpu, loss_cpu);
  grid_round(*c.gpu, {.x = ptr<double>(xd), .rows = rows, .n = n, .ld = ld, .scales = ptr<float>(sd),
                      .zeros = ptr<int32_t>(zd), .ldp = rows, .grp = ptr<int32_t>(gd), .maxq = spec.maxq(),
                      .codes = ptr<uint8_t>(cd), .loss = ptr<double>(ld_)});
  const auto codes_gpu = download<uint8_t>(*c.gpu, cd);
  const auto loss_gpu = download<double>(*c.gpu, ld_);
  // Divisions, rint and the loss's products and sums without FMAs on both sides: bit-identical.
  int64_t bad = 0;
  for (size_t i = 0; i < codes_cpu.size(); ++i)
    if (codes_gpu[i] != codes_cpu[i] && bad++ < 5)
      ADD_FAILURE() << "code " << i << ": " << +codes_gpu[i] << " vs " << +codes_cpu[i];
  for (int64_t r = 0; r < rows; ++r)
    if (!same_bits(loss_gpu[r], loss_cpu[r]) && bad++ < 5) ADD_FAILURE() << "loss row " << r;
  EXPECT_EQ(bad, 0);
}

TEST(GpuRounding, CholeskySolveTilesMatchCpuAndStandAlone) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  // m = 70: tiles of rows 0..31, 32..63 and a partial 64..69.
  const int64_t n = 200, m = 70, ldf = n + 1, ldb = n + 4;
  for (const bool upper : {false, true}) {
    SolveCase s = cholesky_solve_both(c, n, m, ldf, ldb, 40, upper);
    ASSERT_TRUE(s.factored);
    const std::vector<double>& b0 = s.b0;
    const std::vector<double>& b_cpu = s.b_cpu;
    const std::vector<double>& b_gpu = s.b_gpu;
    Tensor& fd = s.factor_gpu;
    int64_t bad = 0;
    for (int64_t i = 0; i < m; ++i) {
      double row_max = 0.0;
      for (int64_t j = 0; j < n; ++j) row_max = std::max(row_max, std::abs(b_cpu[i * ldb + j]));
      for (int64_t j = 0; j < ldb; ++j) {
        const double got = b_gpu[i * ldb + j];
        if (j >= n) {
          if (!same_bits(got, b0[i * ldb + j]) && bad++ < 5) ADD_FAILURE() << "padding changed at " << i << "," << j;
        } else if (!(std::abs(got - b_cpu[i * ldb + j]) <= 1e-10 * row_max) && bad++ < 5) {
          // κ(A) ≲ 5: two backward-stable fp64 solves differ by ~n·u·κ ≈ 2e-13
          // of the row's size at worst; 1e-10 of it.
          ADD_FAILURE() << "upper " << upper << " x[" << i << "," << j << "] diff "
                        << std::abs(got - b_cpu[i * ldb + j]) << " row max " << row_max;
        }
      }
    }
    EXPECT_EQ(bad, 0) << "upper " << upper;

    // The contract on the GPU: rows 0..31 solved by an m = 32 call, and the
    // partial tile 64..69 by an m = 6 call at its first row, give the bits of
    // the m = 70 call.
    for (const auto& [r0, nr] : {std::pair<int64_t, int64_t>{0, 32}, std::pair<int64_t, int64_t>{64, 6}}) {
      Tensor alone = upload(*c.gpu, b0);
      cholesky_solve(*c.gpu, n, nr, ptr<double>(fd), ldf, upper, ptr<double>(alone) + r0 * ldb, ldb);
      EXPECT_EQ(compare_tile(download<double>(*c.gpu, alone), b_gpu, b0, m, ldb, r0, nr), 0)
          << "upper " << upper << " rows [" << r0 << ", " << r0 + nr << ") alone";
    }
  }
}

}  // namespace
}  // namespace maca::backend
