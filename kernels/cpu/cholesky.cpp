// cholesky, cholesky_solve (LAPACK potrf/potrs).
// A row-major matrix is the column-major transpose, so the row-major lower
// triangle is LAPACK's 'U' and vice versa; symmetric inputs are unaffected.
#include <algorithm>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {
namespace {
char lapack_uplo(bool upper) { return upper ? 'L' : 'U'; }

// Zeroes the triangle opposite to `upper` (excluding the diagonal).
void zero_other_triangle(int64_t n, double* a, int64_t lda, bool upper) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      (upper ? a[j * lda + i] : a[i * lda + j]) = 0.0;
    }
}
}  // namespace

bool cholesky(backend::Context&, int64_t n, double* a, int64_t lda, bool upper) {
  if (n == 0) return true;
  const char uplo = lapack_uplo(upper);
  const int N = blas_int(n, "n"), LDA = blas_int(lda, "lda");
  int info = 0;
  dpotrf_(&uplo, &N, a, &LDA, &info);
  MACA_ASSERT(info >= 0, "dpotrf: invalid argument {}", -info);
  if (info > 0) return false;
  zero_other_triangle(n, a, lda, upper);
  return true;
}

// Tiles of kSolveTile rows of b in parallel, one single-threaded dpotrs each.
void cholesky_solve(backend::Context&, int64_t n, int64_t m, const double* factor, int64_t ldf, bool upper, double* b,
                    int64_t ldb) {
  if (n == 0 || m == 0) return;
  constexpr int64_t kSolveTile = 32;
  const char uplo = lapack_uplo(upper);
  const int N = blas_int(n, "n"), LDA = blas_int(ldf, "ldf"), LDB = blas_int(ldb, "ldb");
  const int64_t tiles = (m + kSolveTile - 1) / kSolveTile;
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    const int NRHS = blas_int(std::min(kSolveTile, m - t * kSolveTile), "m");
    int info = 0;
    dpotrs_(&uplo, &N, &NRHS, factor, &LDA, b + t * kSolveTile * ldb, &LDB, &info);
    MACA_ASSERT(info == 0, "dpotrs: invalid argument {}", -info);
  }
}

}  // namespace maca::kernels::cpu
