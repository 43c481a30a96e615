#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void group_params(backend::Context&, const backend::GroupParams& a) {
#pragma omp parallel for schedule(static) if (a.rows > 64)
  for (int64_t r = 0; r < a.rows; ++r) grid::row_params(a.spec, a.x + r * a.ld, a.len, 1, a.scale + r, a.zero + r);
}

}  // namespace maca::kernels::cpu
