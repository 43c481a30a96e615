// gram_update: cuBLAS syrk on row-major buffers. Row-major x [k, n] (ldx) is
// the column-major n×k matrix X = xᵀ, so xᵀx = X·Xᵀ is syrk with trans N,
// size n, rank k. Row-major c's element (i, j) is column-major element (j, i),
// so the row-major upper triangle (j >= i) is the column-major lower one:
// uplo LOWER writes exactly that triangle (the diagonal included) and leaves
// the strict row-major lower triangle untouched, as the CPU's dsyrk 'L' does.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {

void gram_update(backend::Context& ctx, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, float beta,
                 float* c, int64_t ldc) {
  if (n == 0) return;
  MACA_CUBLAS_CHECK(cublasSsyrk_64(cuda_context(ctx).cublas(), CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, n, k, &alpha, x,
                                   ldx, &beta, c, ldc));
}

void gram_update(backend::Context& ctx, int64_t n, int64_t k, double alpha, const double* x, int64_t ldx, double beta,
                 double* c, int64_t ldc) {
  if (n == 0) return;
  MACA_CUBLAS_CHECK(cublasDsyrk_64(cuda_context(ctx).cublas(), CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, n, k, &alpha, x,
                                   ldx, &beta, c, ldc));
}

}  // namespace maca::kernels::cuda
