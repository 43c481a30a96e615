// The quantization grid's per-row parameters (algorithms.md §1; quant/grid.h
// explains the rules): min/max (symmetric or not), the optional clip search,
// and the scale stored as an fp16 value (nearest, up, down, best) or f32.
// One function for both backends: the CPU's quant::find_params and the CUDA
// group_params kernel give the same scale and zero for the same row, so codes
// agree wherever the rows do.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/shared/half.h"
#include "kernels/shared/hd.h"

namespace maca::grid {

enum class ScaleRule : int { Nearest, Up, Down, Best, F32 };

// Plain values (no std::string, no host-only types), copied to the device.
struct GridSpec {
  int bits = 4;
  bool sym = true;
  bool clip = false;
  int clip_grid = 100;
  double clip_max_shrink = 0.8;
  double clip_norm = 2.4;
  ScaleRule scale_rule = ScaleRule::Nearest;
  MACA_HD int maxq() const { return (1 << bits) - 1; }
};

namespace detail {
MACA_HD inline double nearbyint(double x) {
#ifdef __CUDA_ARCH__
  return ::rint(x);  // round half to even, as nearbyint in the default mode
#else
  return std::nearbyint(x);
#endif
}
MACA_HD inline double fabs(double x) { return x < 0 ? -x : x; }
MACA_HD inline double pow(double x, double y) {
#ifdef __CUDA_ARCH__
  return ::pow(x, y);
#else
  return std::pow(x, y);
#endif
}
MACA_HD inline double clamp(double x, double lo, double hi) { return x < lo ? lo : (hi < x ? hi : x); }
}  // namespace detail

// Code of x: clamp(round_half_even(x / scale) + zero, 0, maxq).
MACA_HD inline double quantize_code(double x, double scale, double zero, double maxq) {
  return detail::clamp(detail::nearbyint(x / scale) + zero, 0.0, maxq);
}

// The fp16 value for a positive scale s (Nearest: ties to even; Up: the
// smallest fp16 value >= s; Down: the largest <= s), kept within [smallest
// positive subnormal, largest finite].
MACA_HD inline double round_scale_to_f16(double s, ScaleRule mode) {
  constexpr uint16_t kMinSub = 0x0001, kMaxFinite = 0x7bff;
  // f32_to_f16 after a double→float step may round twice; correct it by
  // comparing with the neighbours in double.
  uint16_t h = static_cast<uint16_t>(half::f32_to_f16(static_cast<float>(s)) & 0x7fffu);
  h = h < kMinSub ? kMinSub : (h > kMaxFinite ? kMaxFinite : h);
  uint16_t best = h;
  double best_d = detail::fabs(half::f16_to_f32(h) - s);
  const uint16_t candidates[2] = {static_cast<uint16_t>(h - 1), static_cast<uint16_t>(h + 1)};
  for (const uint16_t c : candidates) {
    if (c < kMinSub || c > kMaxFinite) continue;
    const double d = detail::fabs(half::f16_to_f32(c) - s);
    if (d < best_d || (d == best_d && (c & 1u) == 0)) {
      best = c;
      best_d = d;
    }
  }
  if (mode == ScaleRule::Up && half::f16_to_f32(best) < s && best < kMaxFinite) ++best;
  if (mode == ScaleRule::Down && half::f16_to_f32(best) > s && best > kMinSub) --best;
  return half::f16_to_f32(best);
}

// Scale and zero of one row x[0 .. len) (elements `stride` apart).
MACA_HD inline void row_params(const GridSpec& g, const double* x, int64_t len, int64_t stride, float* scale,
                               int32_t* zero) {
  const double maxq = g.maxq();
  const double sym_zero = (maxq + 1) / 2;
  double xmin = 0.0, xmax = 0.0;
  for (int64_t i = 0; i < len; ++i) {
    const double v = x[i * stride];
    xmin = v < xmin ? v : xmin;
    xmax = v > xmax ? v : xmax;
  }
  if (g.sym) {
    xmax = detail::fabs(xmin) > xmax ? detail::fabs(xmin) : xmax;
    if (xmin < 0) xmin = -xmax;
  }
  if (xmin == 0 && xmax == 0) {
    xmin = -1;
    xmax = 1;
  }
  double s = (xmax - xmin) / maxq;
  double z = g.sym ? sym_zero : detail::nearbyint(-xmin / s);
  if (g.clip) {
    double best = HUGE_VAL;
    const int steps = static_cast<int>(g.clip_max_shrink * g.clip_grid);
    for (int i = 0; i < steps; ++i) {
      const double p = 1 - static_cast<double>(i) / g.clip_grid;
      const double xmin1 = p * xmin, xmax1 = p * xmax;
      const double s1 = (xmax1 - xmin1) / maxq;
      const double z1 = g.sym ? sym_zero : detail::nearbyint(-xmin1 / s1);
      double err = 0.0;  // Σ |q(x) − x|^norm with the unrounded grid
      for (int64_t k = 0; k < len; ++k) {
        const double v = x[k * stride];
        const double q = s1 * (quantize_code(v, s1, z1, maxq) - z1);
        err += detail::pow(detail::fabs(q - v), g.clip_norm);
      }
      if (err < best) {
        best = err;
        s = s1;
        z = z1;
      }
    }
  }
  if (g.scale_rule == ScaleRule::Best) {
    const double zc = detail::clamp(z, 0.0, maxq);
    const double lo = round_scale_to_f16(s, ScaleRule::Down), hi = round_scale_to_f16(s, ScaleRule::Up);
    double e_lo = 0, e_hi = 0;
    for (int64_t k = 0; k < len; ++k) {
      const double v = x[k * stride];
      const double d_hi = v - hi * (quantize_code(v, hi, zc, maxq) - zc);
      const double d_lo = v - lo * (quantize_code(v, lo, zc, maxq) - zc);
      e_hi += d_hi * d_hi;
      e_lo += d_lo * d_lo;
    }
    *scale = static_cast<float>(e_hi < e_lo ? hi : lo);
  } else if (g.scale_rule == ScaleRule::F32) {
    *scale = static_cast<float>(s);
  } else {
    *scale = static_cast<float>(round_scale_to_f16(s, g.scale_rule));
  }
  *zero = static_cast<int32_t>(detail::clamp(z, 0.0, maxq));
}

// Round to nearest on fixed parameters, one row: codes[j] = quantize_code of
// x[j] with the scale and zero of column j's group (scale[grp[j]·ldp],
// zero[grp[j]·ldp]); returns Σ_j (x[j] − s·(q − z))² summed in column order.
MACA_HD inline double round_row(const double* x, int64_t n, const float* scale, const int32_t* zero, int64_t ldp,
                                const int32_t* grp, int maxq, uint8_t* codes) {
  double loss = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t gi = static_cast<int64_t>(grp[j]) * ldp;
    const double s = scale[gi], z = zero[gi];
    const double q = quantize_code(x[j], s, z, maxq);
    codes[j] = static_cast<uint8_t>(q);
    const double e = x[j] - s * (q - z);
    loss += e * e;
  }
  return loss;
}

}  // namespace maca::grid
