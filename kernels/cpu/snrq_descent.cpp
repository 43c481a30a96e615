#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void snrq_descent(backend::Context&, const snrq::Descent& a) {
#pragma omp parallel for schedule(dynamic) if (a.rows > 32)
  for (int64_t r = 0; r < a.rows; ++r) snrq::descent_row(a, r);
}

}  // namespace maca::kernels::cpu
