// rmsnorm: one block per row. Each thread sums the squares of its columns
// (j = threadIdx.x, + blockDim.x, …) in double, a fixed-tree block reduction
// gives the row's sum (the same bits every run), then each thread writes its
// own columns y = x · inv · (offset + w) with the CPU kernel's expressions
// (shared::rmsnorm_inv, rmsnorm_scale). A thread reads and writes only its own
// columns, so y may alias x.
#include <climits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cuda {
namespace {

__global__ void rmsnorm_kernel(const float* x, const float* w, float* y, int64_t d, float eps, float offset) {
  const int64_t row = blockIdx.x;
  const float* xr = x + row * d;
  float* yr = y + row * d;
  double ss = 0.0;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const double v = xr[j];
    ss += v * v;  // exact product: an fma gives the same sum
  }
  ss = block_reduce(ss, SumOp{}, 0.0);
  const float inv = shared::rmsnorm_inv(ss, d, eps);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = shared::rmsnorm_scale(xr[j], inv, offset, w[j]);
}

}  // namespace

void rmsnorm(backend::Context& ctx, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y) {
  CudaContext& cc = cuda_context(ctx);
  MACA_CUDA_REQUIRE(x.dtype() == DType::F32 && w.dtype() == DType::F32 && y.dtype() == DType::F32,
                    "rmsnorm: x, w and y must be f32");
  MACA_CUDA_REQUIRE(x.ndim() >= 1 && x.dim(-1) > 0, "rmsnorm: x must have a non-empty last dimension");
  const int64_t d = x.dim(-1), rows = x.numel() / d;
  MACA_CUDA_REQUIRE(w.numel() == d && y.numel() == x.numel(), "rmsnorm: w must have d elements and y x's shape");
  MACA_CUDA_REQUIRE(rows <= INT_MAX, "rmsnorm: more rows than a grid holds");
  if (rows == 0) return;
  const int threads = d >= 1024 ? 256 : 128;
  rmsnorm_kernel<<<static_cast<unsigned>(rows), threads, 0, cc.cuda_stream()>>>(
      static_cast<const float*>(x.raw()), static_cast<const float*>(w.raw()), static_cast<float*>(y.raw()), d, eps,
      unit_offset ? 1.0f : 0.0f);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
