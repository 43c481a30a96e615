// weighted_rows: one elementwise launch, a grid-stride loop over rows·n. The
// per-row factors √w[r] and α·√w[r] are computed on the host with the CPU
// oracle's expressions (kernels/cpu/weighted_rows.cpp: in double, then
// rounded to T) and uploaded; each element is then one product (and one
// difference) in T through _rn intrinsics, which nvcc never contracts into a
// fused multiply-add. Same IEEE operations on the same operands as the CPU,
// so xq and dx are the CPU's bit for bit.
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ inline float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ inline double sub_rn(double a, double b) { return __dsub_rn(a, b); }

// factor[2r] = √w[r], factor[2r + 1] = α·√w[r]; x_fp null: no dx.
template <class T>
__global__ void weighted_rows_kernel(const float* __restrict__ x, const float* __restrict__ x_fp,
                                     const T* __restrict__ factor, int64_t count, int64_t n, T* __restrict__ xq,
                                     T* __restrict__ dx) {
  for (int64_t e = grid_first(); e < count; e += grid_stride()) {
    const int64_t r = e / n;
    const T v = static_cast<T>(x[e]);
    xq[e] = mul_rn(factor[2 * r], v);
    if (x_fp) dx[e] = mul_rn(factor[2 * r + 1], sub_rn(static_cast<T>(x_fp[e]), v));
  }
}

template <class T>
void weigh(CudaContext& c, const backend::WeightedRows& a) {
  std::vector<T> factor(static_cast<size_t>(2 * a.rows));
  for (int64_t r = 0; r < a.rows; ++r) {
    const double root = std::sqrt(static_cast<double>(a.w[static_cast<size_t>(r)]));
    factor[static_cast<size_t>(2 * r)] = static_cast<T>(root);
    factor[static_cast<size_t>(2 * r + 1)] = static_cast<T>(a.alpha * root);
  }
  const DeviceArray<T> dev_factor(c, std::span<const T>(factor));
  const int64_t count = a.rows * a.n;
  weighted_rows_kernel<T><<<elementwise_blocks(count), kElementwiseThreads, 0, c.cuda_stream()>>>(
      a.x, a.x_fp, dev_factor.get(), count, a.n, static_cast<T*>(a.xq), static_cast<T*>(a.dx));
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void weighted_rows(backend::Context& ctx, const backend::WeightedRows& a) {
  if (a.rows == 0 || a.n == 0) return;
  MACA_CUDA_REQUIRE(static_cast<int64_t>(a.w.size()) >= a.rows, "weighted_rows: fewer weights than rows");
  MACA_CUDA_REQUIRE(a.x_fp == nullptr || a.dx != nullptr, "weighted_rows: x_fp given without dx");
  CudaContext& c = cuda_context(ctx);
  if (a.f64)
    weigh<double>(c, a);
  else
    weigh<float>(c, a);
}

}  // namespace maca::kernels::cuda
