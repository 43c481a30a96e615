// The largest of a row of floats, in four-float vectors.
//
// GCC leaves a float max reduction scalar (maxss, one element at a time)
// even under `omp simd reduction(max:)`; the vector extension below compiles
// to maxps (16-byte vectors, which every x86-64 and Arm64 CPU has), with four
// accumulators to hide its latency. Max is exact, so the result does not
// depend on the order: it is the scalar loop's, NaNs aside.
#pragma once

#include <cstdint>
#include <cstring>

namespace maca::kernels::cpu {

inline float row_max(const float* x, int64_t n) {
  using Vec = float __attribute__((vector_size(16)));
  constexpr int64_t kVec = 4, kStep = 4 * kVec;
  float m = x[0];
  int64_t j = 0;
  if (n >= kStep) {
    Vec acc[4];
    std::memcpy(acc, x, sizeof acc);
    for (j = kStep; j + kStep <= n; j += kStep)
      for (int a = 0; a < 4; ++a) {
        Vec v;
        std::memcpy(&v, x + j + a * kVec, sizeof v);
        acc[a] = v > acc[a] ? v : acc[a];
      }
    for (int a = 0; a < 4; ++a)
      for (int l = 0; l < kVec; ++l) m = acc[a][l] > m ? acc[a][l] : m;
  }
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

}  // namespace maca::kernels::cpu
