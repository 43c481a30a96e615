#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

// Row-major x [k, n] is the column-major n×k matrix xᵀ, so xᵀx is syrk with
// trans 'N'; the row-major upper triangle is the column-major lower one.
void gram_update(backend::Context&, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, float beta, float* c, int64_t ldc) {
  if (n == 0) return;
  const char uplo = 'L', trans = 'N';
  const int N = blas_int(n, "n"), K = blas_int(k, "k"), LDA = blas_int(ldx, "ldx"), LDC = blas_int(ldc, "ldc");
  ssyrk_(&uplo, &trans, &N, &K, &alpha, x, &LDA, &beta, c, &LDC);
}

void gram_update(backend::Context&, int64_t n, int64_t k, double alpha, const double* x, int64_t ldx, double beta, double* c,
                 int64_t ldc) {
  if (n == 0) return;
  const char uplo = 'L', trans = 'N';
  const int N = blas_int(n, "n"), K = blas_int(k, "k"), LDA = blas_int(ldx, "ldx"), LDC = blas_int(ldc, "ldc");
  dsyrk_(&uplo, &trans, &N, &K, &alpha, x, &LDA, &beta, c, &LDC);
}

}  // namespace maca::kernels::cpu
