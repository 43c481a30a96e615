// CPU implementations of the ops declared in src/backend/ops.h, one file per
// op stem (kernels/cpu/<op>.cpp). Called only through the dispatch in
// src/backend/ops.cpp.
#pragma once

#include "backend/ops.h"

namespace maca::kernels::cpu {

void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace maca::kernels::cpu
