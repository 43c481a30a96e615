// gemm_row_tiles: one cuBLAS dgemm per tile of `tile` rows counted from row 0
// (backend/ops.h). Row-major C_t [nr, n] = alpha·A_t·B + beta·C_t is
// column-major C_tᵀ = alpha·Bᵀ·A_tᵀ + beta·C_tᵀ (gemm.cpp): cuBLAS's A is b
// (n×k, ldb), its B is the tile of a (k×nr, lda), its C the tile of c.
// Bits depend only on the tile shape: every full tile is the same call (shape,
// leading dimensions, handle, stream), which cuBLAS computes with the same
// kernel and the same bits on a given GPU, so a row's result does not depend
// on m. The tiles are separate calls on purpose, not one
// cublasDgemmStridedBatched over the full tiles: cuBLAS chooses its kernel
// (tile sizes, split-K) for the whole problem, batch count included, so a
// batched call's bits could change with m / tile.
#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {

void gemm_row_tiles(backend::Context& ctx, int64_t tile, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                    int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  MACA_CUDA_REQUIRE(tile > 0, "gemm_row_tiles: the tile must have at least one row");
  const cublasHandle_t handle = cuda_context(ctx).cublas();
  for (int64_t r0 = 0; r0 < m; r0 += tile) {
    const int64_t nr = std::min(tile, m - r0);
    MACA_CUBLAS_CHECK(cublasDgemm_64(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, nr, k, &alpha, b, ldb, a + r0 * lda, lda,
                                     &beta, c + r0 * ldc, ldc));
  }
}

}  // namespace maca::kernels::cuda
