// axpy: y[i] += alpha·x[i], grid-stride, with explicitly rounded multiply and
// add (__dmul_rn, __dadd_rn: nvcc never fuses them), so the bits equal the
// CPU's (x86-64 builds contract nothing).
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

__global__ void axpy_kernel(int64_t n, double alpha, const double* x, double* y) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) y[i] = __dadd_rn(y[i], __dmul_rn(alpha, x[i]));
}

}  // namespace

void axpy(backend::Context& ctx, int64_t n, double alpha, const double* x, double* y) {
  if (n <= 0) return;
  CudaContext& cc = cuda_context(ctx);
  axpy_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, cc.cuda_stream()>>>(n, alpha, x, y);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
