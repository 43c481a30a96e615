#include <algorithm>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

// Tiles in parallel, one single-threaded dgemm each.
void gemm_row_tiles(backend::Context&, int64_t tile, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                    int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  const int64_t tiles = (m + tile - 1) / tile;
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t r0 = t * tile, nr = std::min(tile, m - r0);
    gemm_rm(false, false, nr, n, k, alpha, a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc, ldc);
  }
}

}  // namespace maca::kernels::cpu
