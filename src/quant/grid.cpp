#include "quant/grid.h"

#include <cmath>
#include <limits>

#include "core/half.h"

namespace maca::quant {
namespace {

// Σ |q(x) − x|^norm over one row with the given (unrounded) grid.
double clip_error(const double* x, int64_t len, double scale, double zero, double maxq, double norm) {
  double err = 0.0;
  for (int64_t i = 0; i < len; ++i) {
    const double q = scale * (quantize_code(x[i], scale, zero, maxq) - zero);
    err += std::pow(std::abs(q - x[i]), norm);
  }
  return err;
}

}  // namespace

double round_scale_to_f16(double s, ScaleRounding mode) {
  constexpr uint16_t kMinSub = 0x0001, kMaxFinite = 0x7bff;
  // f32_to_f16 after a double→float step may round twice; correct it by
  // comparing with the neighbours in double.
  uint16_t h = f32_to_f16(static_cast<float>(s)) & 0x7fffu;
  h = std::clamp(h, kMinSub, kMaxFinite);
  uint16_t best = h;
  double best_d = std::abs(f16_to_f32(h) - s);
  for (uint16_t c : {static_cast<uint16_t>(h - 1), static_cast<uint16_t>(h + 1)}) {
    if (c < kMinSub || c > kMaxFinite) continue;
    const double d = std::abs(f16_to_f32(c) - s);
    if (d < best_d || (d == best_d && (c & 1u) == 0)) {
      best = c;
      best_d = d;
    }
  }
  if (mode == ScaleRounding::Up && f16_to_f32(best) < s && best < kMaxFinite) ++best;
  if (mode == ScaleRounding::Down && f16_to_f32(best) > s && best > kMinSub) --best;
  return f16_to_f32(best);
}

void find_params(const Grid& grid, const double* x, int64_t rows, int64_t len, int64_t ld, float* scale,
                 int32_t* zero) {
  const double maxq = grid.maxq();
  const double sym_zero = (maxq + 1) / 2;
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = x + r * ld;
    double xmin = 0.0, xmax = 0.0;
    for (int64_t i = 0; i < len; ++i) {
      xmin = std::min(xmin, xr[i]);
      xmax = std::max(xmax, xr[i]);
    }
    if (grid.sym) {
      xmax = std::max(std::abs(xmin), xmax);
      if (xmin < 0) xmin = -xmax;
    }
    if (xmin == 0 && xmax == 0) {
      xmin = -1;
      xmax = 1;
    }
    double s = (xmax - xmin) / maxq;
    double z = grid.sym ? sym_zero : std::nearbyint(-xmin / s);
    if (grid.clip.enabled) {
      double best = std::numeric_limits<double>::infinity();
      const int steps = static_cast<int>(grid.clip.max_shrink * grid.clip.grid);
      for (int i = 0; i < steps; ++i) {
        const double p = 1 - static_cast<double>(i) / grid.clip.grid;
        const double xmin1 = p * xmin, xmax1 = p * xmax;
        const double s1 = (xmax1 - xmin1) / maxq;
        const double z1 = grid.sym ? sym_zero : std::nearbyint(-xmin1 / s1);
        const double err = clip_error(xr, len, s1, z1, maxq, grid.clip.norm);
        if (err < best) {
          best = err;
          s = s1;
          z = z1;
        }
      }
    }
    if (grid.scale_rounding == ScaleRounding::Best) {
      const double zc = std::clamp(z, 0.0, maxq);
      const double lo = round_scale_to_f16(s, ScaleRounding::Down), hi = round_scale_to_f16(s, ScaleRounding::Up);
      auto sq_error = [&](double sc) {
        double e = 0;
        for (int64_t i = 0; i < len; ++i) {
          const double d = xr[i] - sc * (quantize_code(xr[i], sc, zc, maxq) - zc);
          e += d * d;
        }
        return e;
      };
      scale[r] = static_cast<float>(sq_error(hi) < sq_error(lo) ? hi : lo);
    } else if (grid.scale_rounding == ScaleRounding::F32) {
      scale[r] = static_cast<float>(s);
    } else {
      scale[r] = static_cast<float>(round_scale_to_f16(s, grid.scale_rounding));
    }
    zero[r] = static_cast<int32_t>(std::clamp(z, 0.0, maxq));
  }
}

}  // namespace maca::quant
