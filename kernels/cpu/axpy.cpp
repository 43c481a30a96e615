#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void axpy(backend::Context&, int64_t n, double alpha, const double* x, double* y) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace maca::kernels::cpu
