// One check macro per CUDA library; each names the failing statement.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

#define MACA_CUDA_CHECK(stmt)                                                                   \
  do {                                                                                          \
    cudaError_t e_ = (stmt);                                                                    \
    if (e_ != cudaSuccess) MACA_THROW(::maca::Error, "CUDA error '{}' in {} at {}:{}", cudaGetErrorString(e_), #stmt, __FILE__, __LINE__); \
  } while (0)

#define MACA_CUBLAS_CHECK(stmt)                                                                 \
  do {                                                                                          \
    cublasStatus_t s_ = (stmt);                                                                 \
    if (s_ != CUBLAS_STATUS_SUCCESS) MACA_THROW(::maca::Error, "cuBLAS error {} in {} at {}:{}", static_cast<int>(s_), #stmt, __FILE__, __LINE__); \
  } while (0)
