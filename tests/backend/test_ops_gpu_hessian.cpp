// The CUDA statistics ops (kernels/cuda: weighted_rows, gram_fixed_point) and
// hessian::Accumulator on a CUDA context against the CPU oracle, with the
// same fixed-seed rows on both. Where every product and sum is exact
// (integer-valued rows, weights with exact square roots) the fixed-point
// words must be the CPU's bit for bit, whatever order cuBLAS sums in; on
// general rows the two agree to rounding, with the tolerance beside each
// case. Skips at run time when no GPU is visible (label gpu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <type_traits>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "core/error.h"
#include "hessian/accumulator.h"
#include "kernels/shared/fixed_point.h"

namespace maca {
namespace {

using backend::cuda_device_count;
using hessian::Accumulator;
using hessian::Precision;

constexpr int64_t kTile = fixed_point::kTile;

struct Contexts {
  std::unique_ptr<backend::Context> cpu = backend::Context::create(Device::cpu());
  std::unique_ptr<backend::Context> gpu = backend::Context::create(Device::cuda(0));
};

Tensor normal_rows(int64_t rows, int64_t n, uint32_t seed, double stddev = 1.0) {
  Tensor t = Tensor::empty({rows, n});
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, stddev);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(d(rng));
  return t;
}

// Rows of small integers in [-8, 8], as T.
template <class T>
Tensor integer_rows(int64_t rows, int64_t n, uint32_t seed) {
  Tensor t = Tensor::empty({rows, n}, dtype_of<T>());
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-8, 8);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(d(rng));
  return t;
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Host tensors with the same bytes (both on the host, same shape and dtype).
::testing::AssertionResult same_bytes(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape() || got.dtype() != want.dtype())
    return ::testing::AssertionFailure() << got.str() << " vs " << want.str();
  const auto* g = static_cast<const unsigned char*>(got.raw());
  const auto* w = static_cast<const unsigned char*>(want.raw());
  const auto [gi, wi] = std::mismatch(g, g + got.nbytes(), w);
  if (gi != g + got.nbytes())
    return ::testing::AssertionFailure() << "first differing byte " << (gi - g) << " of " << got.nbytes();
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// weighted_rows

// Every element is one IEEE product (and one difference) in T of the same
// operands on both sides (the factors are computed by the same host
// expressions, the device uses _rn intrinsics that are never fused), so the
// results are the same bits, subnormals and signed zeros included.
template <class T>
void check_weighted_rows(Contexts& c, bool with_dx) {
  const int64_t rows = 37, n = 300;
  Tensor x = normal_rows(rows, n, 1), xf = normal_rows(rows, n, 2);
  for (int64_t i = 0; i < xf.numel(); ++i) xf.data<float>()[i] = x.data<float>()[i] + 0.1f * xf.data<float>()[i];
  x.data<float>()[5] = 1e-40f;  // subnormal: no flush to zero on either side
  x.data<float>()[6] = -0.0f;
  xf.data<float>()[7] = x.data<float>()[7];
  std::vector<float> w(rows);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wd(0.25f, 3.0f);
  for (float& v : w) v = wd(rng);
  w[2] = 0.0f;
  w[3] = 1.0f;
  const double alpha = 0.7;
  const bool f64 = std::is_same_v<T, double>;
  const DType t = dtype_of<T>();

  Tensor xq_cpu = Tensor::empty({rows, n}, t), dx_cpu = Tensor::empty({rows, n}, t);
  backend::weighted_rows(*c.cpu, {.x = x.data<float>(),
                                  .x_fp = with_dx ? xf.data<float>() : nullptr,
                                  .w = w,
                                  .alpha = alpha,
                                  .rows = rows,
                                  .n = n,
                                  .f64 = f64,
                                  .xq = xq_cpu.raw(),
                                  .dx = with_dx ? dx_cpu.raw() : nullptr});
  const Tensor xd = c.gpu->to_device(x), xfd = c.gpu->to_device(xf);
  Tensor xq_gpu = c.gpu->empty({rows, n}, t), dx_gpu = c.gpu->empty({rows, n}, t);
  backend::weighted_rows(*c.gpu, {.x = static_cast<const float*>(xd.raw()),
                                  .x_fp = with_dx ? static_cast<const float*>(xfd.raw()) : nullptr,
                                  .w = w,
                                  .alpha = alpha,
                                  .rows = rows,
                                  .n = n,
                                  .f64 = f64,
                                  .xq = xq_gpu.raw(),
                                  .dx = with_dx ? dx_gpu.raw() : nullptr});
  const Tensor xq = c.gpu->to_host(xq_gpu);
  int64_t bad = 0;
  for (int64_t i = 0; i < rows * n; ++i)
    if (!same_bits(xq.data<T>()[i], xq_cpu.data<T>()[i]) && bad++ < 5)
      ADD_FAILURE() << "xq[" << i << "] " << xq.data<T>()[i] << " vs cpu " << xq_cpu.data<T>()[i];
  if (with_dx) {
    const Tensor dx = c.gpu->to_host(dx_gpu);
    for (int64_t i = 0; i < rows * n; ++i)
      if (!same_bits(dx.data<T>()[i], dx_cpu.data<T>()[i]) && bad++ < 5)
        ADD_FAILURE() << "dx[" << i << "] " << dx.data<T>()[i] << " vs cpu " << dx_cpu.data<T>()[i];
  }
  EXPECT_EQ(bad, 0) << (f64 ? "f64" : "f32") << " with_dx " << with_dx;
}

TEST(GpuHessian, WeightedRowsMatchCpuBitForBit) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  for (const bool with_dx : {false, true}) {
    check_weighted_rows<float>(c, with_dx);
    check_weighted_rows<double>(c, with_dx);
  }
}

// ---------------------------------------------------------------------------
// gram_fixed_point

// words += the fixed-point aᵀ·b on both backends from the same nonzero start
// words. Integer-valued a, b with |Σ| < 2^24 make every product and partial
// sum exact in f32 and f64, so the words must match bit for bit whatever
// order either BLAS sums in. n = 3000 in f64 takes several strips in both
// layouts (the CUDA op's 64 MiB strip budget holds 21 of its 24 tile rows).
template <class T>
void check_gram_exact(Contexts& c, int64_t n, bool symmetric) {
  const int64_t rows = 24;
  const int64_t tiles = (n + kTile - 1) / kTile;
  const int64_t words = fixed_point::tile_count(tiles, symmetric) * fixed_point::kTileWords;
  const Tensor a = integer_rows<T>(rows, n, static_cast<uint32_t>(n) + 10);
  const Tensor b = symmetric ? a : integer_rows<T>(rows, n, static_cast<uint32_t>(n) + 11);
  Tensor start = Tensor::empty({words}, DType::I64);
  std::mt19937_64 rng(static_cast<uint64_t>(n));
  std::uniform_int_distribution<int64_t> wd(-(int64_t{1} << 40), int64_t{1} << 40);
  for (int64_t i = 0; i < words; ++i) start.data<int64_t>()[i] = wd(rng);
  const bool f64 = std::is_same_v<T, double>;

  Tensor cpu_words = start.clone();
  ASSERT_TRUE(backend::gram_fixed_point(*c.cpu, {.a = a.raw(),
                                                 .b = b.raw(),
                                                 .f64 = f64,
                                                 .rows = rows,
                                                 .n = n,
                                                 .symmetric = symmetric,
                                                 .words = cpu_words.data<int64_t>()}));
  const Tensor ad = c.gpu->to_device(a), bd = symmetric ? ad : c.gpu->to_device(b);
  Tensor gpu_words = c.gpu->to_device(start);
  ASSERT_TRUE(backend::gram_fixed_point(*c.gpu, {.a = ad.raw(),
                                                 .b = bd.raw(),
                                                 .f64 = f64,
                                                 .rows = rows,
                                                 .n = n,
                                                 .symmetric = symmetric,
                                                 .words = static_cast<int64_t*>(gpu_words.raw())}));
  EXPECT_TRUE(same_bytes(c.gpu->to_host(gpu_words), cpu_words))
      << (f64 ? "f64" : "f32") << " n " << n << " symmetric " << symmetric;
}

TEST(GpuHessian, GramFixedPointExactInputsGiveTheCpuWords) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  for (const bool symmetric : {true, false}) {
    check_gram_exact<float>(c, 300, symmetric);
    check_gram_exact<double>(c, 300, symmetric);
    check_gram_exact<double>(c, 3000, symmetric);
  }
}

// ---------------------------------------------------------------------------
// hessian::Accumulator

struct Calibration {
  Tensor x, xf;  // host [rows, n]
  std::vector<float> w;
  std::vector<int64_t> units;
  std::vector<float> alpha;
};

struct Stats {
  Tensor h, d, words;  // finalized H and D, host copy of the tile words
  double sum_weight;
};

Stats accumulate(backend::Context& ctx, const Calibration& cal, Precision p) {
  const int64_t n = cal.x.dim(1);
  Accumulator acc(ctx, n, p, true);
  const Tensor x = ctx.to_device(cal.x), xf = ctx.to_device(cal.xf);
  acc.add(x, cal.units, cal.w, &xf, cal.alpha);
  return {acc.finalize_h(), acc.finalize_d(), ctx.to_host(acc.tile_words()), acc.sum_weight()};
}

// The raw sums the words hold, as doubles [n, n] (a symmetric matrix's
// lower triangle mirrored from its upper tiles).
std::vector<double> decode(const Tensor& words, int64_t offset, int64_t n, bool symmetric) {
  const int64_t tiles = (n + kTile - 1) / kTile;
  const int64_t* w = words.data<int64_t>() + offset;
  std::vector<double> out(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = symmetric ? i : 0; j < n; ++j) {
      const int64_t* tile = w + fixed_point::tile_offset(i / kTile, j / kTile, tiles, symmetric);
      const int64_t at = (i % kTile) * kTile + j % kTile;
      out[static_cast<size_t>(i * n + j)] = out[static_cast<size_t>(j * n + i)] =
          fixed_point::value(tile[at], tile[at + kTile * kTile]);
    }
  return out;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (const double x : v) m = std::max(m, std::abs(x));
  return m;
}

// |got − want| <= rel·max|want| + abs_tol + ulp_rel·|want| element by element.
void expect_near(const std::vector<double>& got, const std::vector<double>& want, double rel, double abs_tol,
                 double ulp_rel, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  const double scale = max_abs(want);
  ASSERT_GT(scale, 0.0) << what;
  int64_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double tol = rel * scale + abs_tol + ulp_rel * std::abs(want[i]);
    const double d = std::abs(got[i] - want[i]);
    if (!(d <= tol) && bad++ < 5)
      ADD_FAILURE() << what << " entry " << i << ": " << got[i] << " vs cpu " << want[i] << " (diff " << d
                    << ", tol " << tol << ")";
  }
  EXPECT_EQ(bad, 0) << what;
}

std::vector<double> as_doubles(const Tensor& t) {
  return std::vector<double>(t.data<float>(), t.data<float>() + t.numel());
}

// Units of 7, 100 and 33 rows (n = 300 crosses tile edges), weights in
// [0.25, 3], per-unit factors on D.
Calibration random_calibration() {
  const int64_t rows = 140, n = 300;
  Calibration cal{normal_rows(rows, n, 20), normal_rows(rows, n, 21, 0.5), {}, {7, 100, 33}, {1.0f, 0.75f, 1.25f}};
  for (int64_t i = 0; i < cal.x.numel(); ++i) cal.xf.data<float>()[i] += cal.x.data<float>()[i];
  std::mt19937 rng(22);
  std::uniform_real_distribution<float> wd(0.25f, 3.0f);
  cal.w.resize(rows);
  for (float& v : cal.w) v = wd(rng);
  return cal;
}

TEST(GpuHessian, AccumulatorMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const Calibration cal = random_calibration();
  const int64_t n = cal.x.dim(1), tiles = (n + kTile - 1) / kTile;
  const int64_t d_offset = fixed_point::tile_count(tiles, true) * fixed_point::kTileWords;
  const double units = static_cast<double>(cal.units.size());
  for (const Precision p : {Precision::F64, Precision::F32}) {
    const bool f64 = p == Precision::F64;
    const Stats cpu = accumulate(*c.cpu, cal, p), gpu = accumulate(*c.gpu, cal, p);
    // Σw is summed on the host from the same weights: identical.
    EXPECT_EQ(gpu.sum_weight, cpu.sum_weight);
    // Each unit's values differ only by the summation order of their rows
    // (≲ √rows·u of the products' scale: ~1e-15 in f64, ~1e-6 in f32,
    // relative to max|H|, max|D|); the fixed-point truncation of each unit's
    // value (< 2^-40, three units) adds an absolute term.
    const double rel = f64 ? 1e-12 : 1e-5, trunc = units * 0x1p-40;
    const char* tag = f64 ? "f64" : "f32";
    {
      SCOPED_TRACE(tag);
      expect_near(decode(gpu.words, 0, n, true), decode(cpu.words, 0, n, true), rel, trunc, 0.0, "raw H");
      expect_near(decode(gpu.words, d_offset, n, false), decode(cpu.words, d_offset, n, false), rel, trunc, 0.0,
                  "raw D");
      // finalize_* scale by 2/Σw and round to f32 once: values whose doubles
      // agree as above may still round to neighbouring floats (one f32 ulp).
      const double scale = 2.0 / cpu.sum_weight;
      expect_near(as_doubles(gpu.h), as_doubles(cpu.h), rel, trunc * scale, 0x1p-23, "H");
      expect_near(as_doubles(gpu.d), as_doubles(cpu.d), rel, trunc * scale, 0x1p-23, "D");
    }
    // The same rows on the same GPU give the same words: fixed strip shapes,
    // deterministic cuBLAS (no atomics), exact integer sums.
    const Stats again = accumulate(*c.gpu, cal, p);
    EXPECT_TRUE(same_bytes(again.words, gpu.words)) << tag;
  }
}

// Integer rows, weights whose square roots are exact (0.25, 1, 2.25) and
// exact unit factors make every product and sum exact in both precisions
// (multiples of 1/8 below 2^16: at most 19 significant bits), so the words
// must be the CPU's bit for bit.
TEST(GpuHessian, AccumulatorExactInputsGiveTheCpuWords) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t rows = 140, n = 300;
  Calibration cal{integer_rows<float>(rows, n, 30), integer_rows<float>(rows, n, 31), {}, {7, 100, 33},
                  {1.0f, 0.5f, 2.0f}};
  const float weights[] = {0.25f, 1.0f, 2.25f};
  for (int64_t r = 0; r < rows; ++r) cal.w.push_back(weights[r % 3]);
  for (const Precision p : {Precision::F64, Precision::F32}) {
    const Stats cpu = accumulate(*c.cpu, cal, p), gpu = accumulate(*c.gpu, cal, p);
    EXPECT_TRUE(same_bytes(gpu.words, cpu.words)) << (p == Precision::F64 ? "f64" : "f32");
    EXPECT_TRUE(same_bytes(gpu.h, cpu.h));
    EXPECT_TRUE(same_bytes(gpu.d, cpu.d));
  }
}

// A non-finite activation (in x, so in H and D, or only in x_fp, so in D) or
// one so large that a unit's Σ w x xᵀ leaves the fixed-point range makes
// add() throw on the GPU as on the CPU.
TEST(GpuHessian, NonFiniteOrHugeRowsThrow) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  struct Case {
    bool in_x;
    float value;
    const char* what;
  };
  const Case cases[] = {{true, std::numeric_limits<float>::quiet_NaN(), "NaN in x"},
                        {false, std::numeric_limits<float>::infinity(), "inf in x_fp"},
                        {true, 1e6f, "1e6 in x (x² > 2^36)"}};
  for (const Case& k : cases)
    for (const Precision p : {Precision::F64, Precision::F32})
      for (backend::Context* ctx : {c.cpu.get(), c.gpu.get()}) {
        Calibration cal = random_calibration();
        (k.in_x ? cal.x : cal.xf).data<float>()[50 * cal.x.dim(1) + 130] = k.value;  // row 50: the second unit
        EXPECT_THROW(accumulate(*ctx, cal, p), Error)
            << k.what << (p == Precision::F64 ? " f64 " : " f32 ") << ctx->device().str();
      }
}

}  // namespace
}  // namespace maca
