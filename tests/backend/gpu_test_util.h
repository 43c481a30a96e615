// Shared pieces of the gpu op tests (tests/backend/test_ops_gpu_*.cpp): a CPU
// and a CUDA context, fixed-seed inputs, device upload/download, bit
// comparison, a well-conditioned SPD matrix.
#pragma once

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"

namespace maca::backend::gpu_test {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Contexts {
  std::unique_ptr<Context> cpu = Context::create(Device::cpu());
  std::unique_ptr<Context> gpu = Context::create(Device::cuda(0));
};

template <class T>
std::vector<T> random_vector(size_t n, uint32_t seed, double stddev = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, stddev);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(dist(rng));
  return v;
}

inline Tensor random_tensor(Shape shape, uint32_t seed, double stddev = 1.0) {
  Tensor t = Tensor::empty(std::move(shape));
  const auto v = random_vector<float>(static_cast<size_t>(t.numel()), seed, stddev);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// A device copy of a host vector (a 1-D tensor holding it).
template <class T>
Tensor upload(Context& gpu, const std::vector<T>& v) {
  Tensor h = Tensor::empty({static_cast<int64_t>(v.size())}, dtype_of<T>());
  std::copy(v.begin(), v.end(), h.data<T>());
  return gpu.to_device(h);
}

template <class T>
T* ptr(Tensor& t) {
  return static_cast<T*>(t.raw());
}

// The device buffer's contents (after the work queued on it: to_host waits).
template <class T>
std::vector<T> download(Context& gpu, const Tensor& d) {
  const Tensor h = gpu.to_host(d);
  return std::vector<T>(h.data<T>(), h.data<T>() + h.numel());
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Symmetric positive definite a [n, n] (leading dimension lda, padding NaN):
// B·Bᵀ/n + I for a Gaussian B, eigenvalues in [1, ~5], so κ ≲ 5.
inline std::vector<double> spd_matrix(int64_t n, int64_t lda, uint32_t seed) {
  const auto b = random_vector<double>(static_cast<size_t>(n * n), seed);
  std::vector<double> a(static_cast<size_t>(n * lda), kNaN);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < n; ++p) s += b[i * n + p] * b[j * n + p];
      a[i * lda + j] = a[j * lda + i] = s / static_cast<double>(n) + (i == j ? 1.0 : 0.0);
    }
  return a;
}

// One Cholesky solve of m right-hand sides on both backends: the factor
// (lower, or upper) of spd_matrix(n, ldf, seed), b0 Gaussian with seed + 1
// ([m, ldb], padding included). The GPU's factor stays on the device for
// further calls; factored is false when the CPU's Cholesky failed.
struct SolveCase {
  bool factored = false;
  std::vector<double> b0, b_cpu, b_gpu;
  Tensor factor_gpu;
};

inline SolveCase cholesky_solve_both(Contexts& c, int64_t n, int64_t m, int64_t ldf, int64_t ldb, uint32_t seed,
                                     bool upper) {
  SolveCase s;
  auto factor = spd_matrix(n, ldf, seed);
  s.b0 = random_vector<double>(static_cast<size_t>(m * ldb), seed + 1);
  s.factored = cholesky(*c.cpu, n, factor.data(), ldf, upper);
  if (!s.factored) return s;
  s.b_cpu = s.b0;
  cholesky_solve(*c.cpu, n, m, factor.data(), ldf, upper, s.b_cpu.data(), ldb);
  s.factor_gpu = upload(*c.gpu, factor);
  Tensor bd = upload(*c.gpu, s.b0);
  cholesky_solve(*c.gpu, n, m, ptr<double>(s.factor_gpu), ldf, upper, ptr<double>(bd), ldb);
  s.b_gpu = download<double>(*c.gpu, bd);
  return s;
}

}  // namespace maca::backend::gpu_test
