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
}  // namespace maca::kernels::cpu

// OpenBLAS's thread control, when the BLAS in use is OpenBLAS (weak: other
// vendors leave it null and follow OMP_NUM_THREADS/MKL_NUM_THREADS).
extern "C" void openblas_set_num_threads(int n) __attribute__((weak));
// The kernel family OpenBLAS picked at load time (weak, as above).
extern "C" char* openblas_get_corename() __attribute__((weak));
// OpenBLAS build configuration string (weak, as above).
extern "C" char* openblas_get_config() __attribute__((weak));
