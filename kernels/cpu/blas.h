// The one place that declares the BLAS/LAPACK prototypes maca uses (Fortran
// ABI, so any FindBLAS vendor works: OpenBLAS, MKL, BLIS, reference).
#pragma once

extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc);
}

// OpenBLAS's thread control, when the BLAS in use is OpenBLAS (weak: other
// vendors leave it null and follow OMP_NUM_THREADS/MKL_NUM_THREADS).
extern "C" void openblas_set_num_threads(int n) __attribute__((weak));
// The kernel family OpenBLAS picked at load time (weak, as above).
extern "C" char* openblas_get_corename() __attribute__((weak));
// OpenBLAS build configuration string (weak, as above).
extern "C" char* openblas_get_config() __attribute__((weak));
