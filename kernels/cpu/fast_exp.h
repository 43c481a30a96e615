// exp for float in a form compilers vectorize: no calls, no branches.
//
// Cephes' expf: x = n·ln2 + r with n rounded to nearest (by the 1.5·2^23
// trick, exact for |x·log2e| < 2^22), a degree-6 polynomial for e^r, 2^n
// assembled in the exponent bits. Relative error ≤ 2 ulp on the clamped
// range [-87.3, 88.3]; inputs below it give ~1e-38 instead of a subnormal or
// 0, which no softmax or sigmoid here can tell apart. Used by the softmax,
// the cross-entropy and SiLU, where glibc's scalar expf was 12% of a forward.
#pragma once

#include <bit>
#include <cstdint>

namespace maca::kernels::cpu {

inline float fast_expf(float x) {
  // Clamped by two selects. They become vector min/max, and the caller's loop
  // vectorizes, only under -fno-trapping-math (set for the CPU kernels in
  // kernels/CMakeLists.txt); with GCC's default the compares stay branches.
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest integer
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + r + 1.0f;
  return y * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
}

}  // namespace maca::kernels::cpu
