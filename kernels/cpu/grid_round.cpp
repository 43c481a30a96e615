#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void grid_round(backend::Context&, const backend::GridRound& a) {
#pragma omp parallel for schedule(static) if (a.rows > 32)
  for (int64_t r = 0; r < a.rows; ++r)
    a.loss[r] =
        grid::round_row(a.x + r * a.ld, a.n, a.scales + r, a.zeros + r, a.ldp, a.grp, a.maxq, a.codes + r * a.n);
}

}  // namespace maca::kernels::cpu
