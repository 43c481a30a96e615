// linear: y = x·wᵀ (+ bias) as one cuBLAS sgemm over all rows (the gemm op's
// row-major mapping, true fp32: see gemm.cpp), the bias broadcast into y first
// and accumulated with beta = 1, as the CPU tiles do.
//
// seq_lens is only checked: the CPU computes fixed row tiles per sequence so
// a sequence's bits do not depend on the batch or thread count; on one GPU
// the result is deterministic for a given shape without that (cuBLAS without
// atomics, the context's setting), but cuBLAS picks its kernel by shape, so a
// row's bits may depend on M, the number of rows in the call, and hence on
// which other sequences share the batch.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

// y[i, :] = bias for every row i of y [m, n].
__global__ void broadcast_bias(const float* __restrict__ bias, float* __restrict__ y, int64_t m, int64_t n) {
  for (int64_t i = grid_first(); i < m * n; i += grid_stride()) y[i] = bias[i % n];
}

}  // namespace

void linear(backend::Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias,
            std::span<const int64_t> seq_lens, Tensor& y) {
  MACA_CUDA_REQUIRE(x.ndim() == 2 && w.ndim() == 2 && y.ndim() == 2, "linear: x, w and y must be matrices");
  const int64_t m = x.dim(0), k = x.dim(1), n = w.dim(0);
  MACA_CUDA_REQUIRE(w.dim(1) == k && y.dim(0) == m && y.dim(1) == n, "linear: shapes of x [M,K], w [N,K], y [M,N]");
  MACA_CUDA_REQUIRE(!bias.defined() || bias.numel() == n, "linear: bias must have N elements");
  MACA_CUDA_REQUIRE(x.dtype() == DType::F32 && w.dtype() == DType::F32 && y.dtype() == DType::F32 &&
                        (!bias.defined() || bias.dtype() == DType::F32),
                    "linear: x, w, bias and y must be f32");
  if (!seq_lens.empty()) {
    int64_t rows = 0;
    for (const int64_t len : seq_lens) rows += len;
    MACA_CUDA_REQUIRE(rows == m, "linear: seq_lens must sum to the rows of x");
  }
  if (m == 0 || n == 0) return;

  CudaContext& c = cuda_context(ctx);
  auto* out = static_cast<float*>(y.raw());
  if (bias.defined()) {
    broadcast_bias<<<elementwise_blocks(m * n), kElementwiseThreads, 0, c.cuda_stream()>>>(
        static_cast<const float*>(bias.raw()), out, m, n);
    MACA_CUDA_CHECK_LAUNCH();
  }
  // max(k, 1): cuBLAS rejects a leading dimension 0 even when k = 0 (y = bias).
  const int64_t ld = std::max<int64_t>(k, 1);
  cuda::gemm(ctx, false, true, m, n, k, 1.0f, static_cast<const float*>(x.raw()), ld,
             static_cast<const float*>(w.raw()), ld, bias.defined() ? 1.0f : 0.0f, out, n);
}

}  // namespace maca::kernels::cuda
