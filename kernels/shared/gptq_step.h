// The per-element arithmetic of GPTQ's column loop (backend/ops.h,
// GptqColumns), shared by the CUDA kernel (kernels/cuda/gptq_columns.cu) and
// its host test (tests/backend/test_gptq_step.cpp), which checks it bit for
// bit against the CPU oracle (kernels/cpu/gptq_columns.cpp): same operations,
// same order, each rounded on its own.
//
// On the device every operation goes through a _rn intrinsic: nvcc contracts
// a·b ± c into one fused multiply-add by default (-fmad=true), which would
// change the bits of w − e·h and w − s·(q − z); the intrinsics are never
// fused. On the host the plain operators are used, as in the CPU oracle; the
// build targets the x86-64 baseline (no -march), which has no FMA instruction
// to contract into. On a host ISA with FMA (aarch64, or an -march with FMA)
// GCC's default -ffp-contract=fast may fuse the oracle's expressions, and the
// GPU then agrees with it to rounding rather than bit for bit.
#pragma once

#include <cmath>

#include "kernels/shared/hd.h"

namespace maca::kernels {
namespace gptq_detail {

MACA_HD inline double add_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
MACA_HD inline double sub_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}
MACA_HD inline double mul_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
MACA_HD inline double div_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}
// Round half to even: nearbyint and rint agree in the default rounding mode.
MACA_HD inline double round_even(double x) {
#ifdef __CUDA_ARCH__
  return rint(x);
#else
  return std::nearbyint(x);
#endif
}

}  // namespace gptq_detail

struct GptqStep {
  double q;  // the code, an integer in [0, maxq]
  double e;  // the scaled rounding error
};

// One element w = w[r, j] with its group's scale s and zero point z, and
// d = hinv[j, j]: q = clamp(nearbyint(w / s) + z, 0, maxq) (std::clamp's
// comparisons) and e = (w − s·(q − z)) / d.
MACA_HD inline GptqStep gptq_step(double w, double s, double z, double maxq, double d) {
  using namespace gptq_detail;
  double q = add_rn(round_even(div_rn(w, s)), z);
  q = q < 0.0 ? 0.0 : (maxq < q ? maxq : q);
  return {q, div_rn(sub_rn(w, mul_rn(s, sub_rn(q, z))), d)};
}

// loss + e² / 2, as the CPU loop accumulates a row's loss.
MACA_HD inline double gptq_add_loss(double loss, double e) {
  using namespace gptq_detail;
  return add_rn(loss, div_rn(mul_rn(e, e), 2.0));
}

// w[r, k] − e · hinv[j, k], the error feedback into a later column k.
MACA_HD inline double gptq_update(double w, double e, double h) {
  using namespace gptq_detail;
  return sub_rn(w, mul_rn(e, h));
}

// a + b, rounded alone (a row's loss added to the caller's running total).
MACA_HD inline double gptq_sum(double a, double b) { return gptq_detail::add_rn(a, b); }

}  // namespace maca::kernels
