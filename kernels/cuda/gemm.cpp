// gemm: cuBLAS on row-major buffers. A row-major matrix is the column-major
// transpose, so row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ:
// the operands swap and keep their own transpose flags (kernels/cpu/blas.h).
// The 64-bit cuBLAS API takes the int64 sizes as they are. The handle is in
// cuBLAS's default math mode (cublasCreate's), so single precision is true
// fp32 (no TF32), and host pointer mode (alpha, beta read at the call).
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {
namespace {

cublasOperation_t op(bool trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

void gemm(backend::Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  MACA_CUBLAS_CHECK(cublasSgemm_64(cuda_context(ctx).cublas(), op(trans_b), op(trans_a), n, m, k, &alpha, b, ldb, a,
                                   lda, &beta, c, ldc));
}

void gemm(backend::Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  MACA_CUBLAS_CHECK(cublasDgemm_64(cuda_context(ctx).cublas(), op(trans_b), op(trans_a), n, m, k, &alpha, b, ldb, a,
                                   lda, &beta, c, ldc));
}

}  // namespace maca::kernels::cuda
