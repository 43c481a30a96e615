#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cpu {

void rmsnorm(backend::Context&, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y) {
  const int64_t d = x.dim(-1), rows = x.numel() / d;
  MACA_ASSERT(w.numel() == d && y.numel() == x.numel(), "rmsnorm: x {} w {} y {}", x.str(), w.str(), y.str());
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  float* yp = y.data<float>();
#pragma omp parallel for schedule(static) if (rows * d > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xp + r * d;
    float* yr = yp + r * d;
    double ss = 0.0;
    for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(xr[j]) * xr[j];
    const float inv = shared::rmsnorm_inv(ss, d, eps);
    const float offset = unit_offset ? 1.0f : 0.0f;
    for (int64_t j = 0; j < d; ++j) yr[j] = shared::rmsnorm_scale(xr[j], inv, offset, wp[j]);
  }
}

}  // namespace maca::kernels::cpu
