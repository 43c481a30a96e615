// The one place that declares the BLAS/LAPACK prototypes maca uses (Fortran
// ABI, so any FindBLAS vendor works: OpenBLAS, MKL, BLIS, reference).
#pragma once

#include <cstdint>
#include <limits>

#include "core/error.h"

extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha, const float* a,
            const int* lda, const float* beta, float* c, const int* ldc);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc);
// LAPACK: Cholesky factorization, solve with the factor; BLAS triangular solve.
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m, const int* n,
            const double* alpha, const double* a, const int* lda, double* b, const int* ldb);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info);
}

namespace maca::kernels::cpu {
// A dimension for the 32-bit (LP64) BLAS/LAPACK interface; larger is a bug upstream.
inline int blas_int(int64_t v, const char* what) {
  MACA_ASSERT(v >= 0 && v <= std::numeric_limits<int>::max(), "{} = {} exceeds the 32-bit BLAS interface", what, v);
  return static_cast<int>(v);
}

// Row-major C = alpha·op(A)·op(B) + beta·C through the column-major BLAS
// (Cᵀ = op(B)ᵀ·op(A)ᵀ: the operands swap). The gemm op and the kernels that
// need a GEMM inside their own loops call these.
template <class T, class Blas>
void row_major_gemm(Blas blas, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                    int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const char ta = trans_b ? 'T' : 'N';
  const char tb = trans_a ? 'T' : 'N';
  const int M = blas_int(n, "n"), N = blas_int(m, "m"), K = blas_int(k, "k");
  const int LDA = blas_int(ldb, "ldb"), LDB = blas_int(lda, "lda"), LDC = blas_int(ldc, "ldc");
  blas(&ta, &tb, &M, &N, &K, &alpha, b, &LDA, a, &LDB, &beta, c, &LDC);
}
inline void gemm_rm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  row_major_gemm(sgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm_rm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                    int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  row_major_gemm(dgemm_, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
}  // namespace maca::kernels::cpu

// OpenBLAS's thread control, when the BLAS in use is OpenBLAS (weak: other
// vendors leave it null and follow OMP_NUM_THREADS/MKL_NUM_THREADS).
extern "C" void openblas_set_num_threads(int n) __attribute__((weak));
// The kernel family OpenBLAS picked at load time (weak, as above).
extern "C" char* openblas_get_corename() __attribute__((weak));
// OpenBLAS build configuration string (weak, as above).
extern "C" char* openblas_get_config() __attribute__((weak));
