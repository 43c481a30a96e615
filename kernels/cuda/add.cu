// add_inplace: y += x, a 1-D grid-stride loop with one element per thread per
// step (consecutive threads, consecutive elements).
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

__global__ void add_inplace_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) y[i] += x[i];
}

}  // namespace

void add_inplace(backend::Context& ctx, Tensor& y, const Tensor& x) {
  CudaContext& cc = cuda_context(ctx);
  MACA_CUDA_REQUIRE(y.dtype() == DType::F32 && x.dtype() == DType::F32, "add_inplace: y and x must be f32");
  MACA_CUDA_REQUIRE(y.numel() == x.numel(), "add_inplace: y and x must have the same size");
  const int64_t n = y.numel();
  if (n == 0) return;
  add_inplace_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, cc.cuda_stream()>>>(
      static_cast<float*>(y.raw()), static_cast<const float*>(x.raw()), n);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
