// Normal random matrices for the rounding tests (fixed std::mt19937 seeds).
#pragma once

#include <cstdint>
#include <random>

#include "core/tensor.h"

namespace maca::quant {

// [rows, cols] F32 with entries N(0, sd²) from `seed`.
inline Tensor random_matrix(int64_t rows, int64_t cols, uint32_t seed, float sd) {
  Tensor t = Tensor::empty({rows, cols});
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

}  // namespace maca::quant
