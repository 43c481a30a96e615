#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void add_inplace(backend::Context&, Tensor& y, const Tensor& x) {
  MACA_ASSERT(y.numel() == x.numel(), "add_inplace: y {} x {}", y.str(), x.str());
  const int64_t n = y.numel();
  float* yp = y.data<float>();
  const float* xp = x.data<float>();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) yp[i] += xp[i];
}

}  // namespace maca::kernels::cpu
