// IEEE half and bfloat16 <-> float conversions (round-to-nearest-even), used
// when reading fp16/bf16 model files and writing fp16 scales. The half ones
// live in kernels/shared/half.h, shared with the CUDA kernels.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/shared/half.h"

namespace maca {

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float f16_to_f32(uint16_t h) { return half::f16_to_f32(h); }
inline uint16_t f32_to_f16(float f) { return half::f32_to_f16(f); }

}  // namespace maca
