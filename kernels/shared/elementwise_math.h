// Per-element formulas of the elementwise and row-wise ops, shared by the CPU
// kernels (kernels/cpu/<op>.cpp) and the CUDA kernels (kernels/cuda/<op>.cu)
// so both backends evaluate the same expressions in the same order, and the
// formulas are unit-tested on every machine (tests/backend/test_shared_math.cpp).
//
// fp32 unless a comment says otherwise. The functions call only the C math
// library (expf, tanhf, sqrtf, cos, sin, log): glibc's on the host, CUDA's on
// the device, where without -use_fast_math sqrtf and the division are
// correctly rounded and the others are within 1–2 ulp. On the device nvcc may
// fuse a·b + c into one fma, so the GPU's results can differ from the CPU's by
// an ulp of the products; the CPU build has no FMA contraction.
#pragma once

#include <math.h>

#include <cstdint>

#include "kernels/shared/hd.h"

namespace maca::kernels::shared {

// The C library's expf (CUDA's on the device: ≤ 2 ulp); the exp for silu()
// where no faster one is wanted.
struct Expf {
  MACA_HD float operator()(float x) const { return expf(x); }
};

// SiLU, x·σ(x) = x / (1 + e^(−x)), with the caller's exp (the CPU passes its
// vectorizable fast_expf, the GPU Expf).
template <class Exp>
MACA_HD inline float silu(float x, Exp exp_fn) {
  return x / (1.0f + exp_fn(-x));
}

// PyTorch gelu(approximate="tanh"), HF "gelu_pytorch_tanh":
// x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³))).
MACA_HD inline float gelu_tanh(float x) {
  constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

// Rotary angle of `position` for one frequency, rounded to fp32 as
// transformers computes it (position · inv_freq in fp32), so long contexts see
// the reference's phases.
MACA_HD inline float rope_angle(int64_t position, float inv_freq) { return static_cast<float>(position) * inv_freq; }

// cos and sin of an fp32 angle, evaluated in double and rounded to fp32.
MACA_HD inline void rope_cos_sin(float angle, float& c, float& s) {
  c = static_cast<float>(cos(static_cast<double>(angle)));
  s = static_cast<float>(sin(static_cast<double>(angle)));
}

struct FloatPair {
  float first, second;
};

// Rotates one pair of HF's rotate_half layout, (a, b) = (v[i], v[i + d/2]),
// by the angle whose cos and sin are c and s.
MACA_HD inline FloatPair rope_rotate(float a, float b, float c, float s) { return {a * c - b * s, b * c + a * s}; }

// 1 / rms of a row of d elements from its sum of squares (accumulated in
// double): 1 / sqrt(mean + eps), the mean rounded to fp32 first.
MACA_HD inline float rmsnorm_inv(double sum_sq, int64_t d, float eps) {
  return 1.0f / sqrtf(static_cast<float>(sum_sq / static_cast<double>(d)) + eps);
}

// One rmsnorm output, x · inv · (offset + w); offset is 1 for Gemma's (1 + w)
// convention, else 0.
MACA_HD inline float rmsnorm_scale(float x, float inv, float offset, float w) { return x * inv * (offset + w); }

// A row's negative log-likelihood in double from its max logit, its sum of
// exp(logit − max) and its target's logit: max + log(sum) − logit[target].
MACA_HD inline double cross_entropy_nll(float max_logit, double sum_exp, float target_logit) {
  return static_cast<double>(max_logit) + log(sum_exp) - static_cast<double>(target_logit);
}

}  // namespace maca::kernels::shared
