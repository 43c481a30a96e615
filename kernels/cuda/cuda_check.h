// One check macro per CUDA library (runtime, cuBLAS, cuSOLVER; NCCL's is in
// src/parallel/nccl/nccl_comm.cpp), each
// naming the failing statement, file and line. The throwing helpers live in
// cuda_check.cpp, so this header (and every .cu file) stays free of fmt,
// whose compile-time format checks nvcc's C++20 mode rejects.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

namespace maca::kernels::cuda {
[[noreturn]] void throw_library_error(const char* library, int code, const char* what, const char* stmt,
                                      const char* file, int line);
// An internal invariant of a CUDA op failed (maca::Error with file:line).
[[noreturn]] void throw_invariant(const char* condition, const char* message, const char* file, int line);
}  // namespace maca::kernels::cuda

#define MACA_CUDA_CHECK(stmt)                                                                                     \
  do {                                                                                                            \
    const cudaError_t e_ = (stmt);                                                                                \
    if (e_ != cudaSuccess)                                                                                        \
      ::maca::kernels::cuda::throw_library_error("CUDA", static_cast<int>(e_), cudaGetErrorString(e_), #stmt,     \
                                                 __FILE__, __LINE__);                                             \
  } while (0)

#define MACA_CUBLAS_CHECK(stmt)                                                                                    \
  do {                                                                                                             \
    const cublasStatus_t s_ = (stmt);                                                                              \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                                               \
      ::maca::kernels::cuda::throw_library_error("cuBLAS", static_cast<int>(s_), cublasGetStatusString(s_), #stmt, \
                                                 __FILE__, __LINE__);                                              \
  } while (0)

#define MACA_CUSOLVER_CHECK(stmt)                                                                                 \
  do {                                                                                                            \
    const cusolverStatus_t s_ = (stmt);                                                                           \
    if (s_ != CUSOLVER_STATUS_SUCCESS)                                                                            \
      ::maca::kernels::cuda::throw_library_error("cuSOLVER", static_cast<int>(s_), "", #stmt, __FILE__, __LINE__); \
  } while (0)

// Kernel launches report configuration errors only through cudaGetLastError.
#define MACA_CUDA_CHECK_LAUNCH() MACA_CUDA_CHECK(cudaGetLastError())

#define MACA_CUDA_REQUIRE(cond, message)                                                 \
  do {                                                                                   \
    if (!(cond)) ::maca::kernels::cuda::throw_invariant(#cond, message, __FILE__, __LINE__); \
  } while (0)
