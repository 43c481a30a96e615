#include <cmath>

#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {
namespace {

template <class T>
void weigh(const backend::WeightedRows& a) {
  auto* xq = static_cast<T*>(a.xq);
  auto* dx = static_cast<T*>(a.dx);
  const int64_t n = a.n;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < a.rows; ++r) {
    const T sw = static_cast<T>(std::sqrt(static_cast<double>(a.w[r])));
    const T swa = static_cast<T>(a.alpha * std::sqrt(static_cast<double>(a.w[r])));
    const float* x = a.x + r * n;
    for (int64_t i = 0; i < n; ++i) xq[r * n + i] = sw * static_cast<T>(x[i]);
    if (a.x_fp) {
      const float* f = a.x_fp + r * n;
      for (int64_t i = 0; i < n; ++i) dx[r * n + i] = swa * (static_cast<T>(f[i]) - static_cast<T>(x[i]));
    }
  }
}

}  // namespace

void weighted_rows(backend::Context&, const backend::WeightedRows& a) {
  if (a.f64)
    weigh<double>(a);
  else
    weigh<float>(a);
}

}  // namespace maca::kernels::cpu
