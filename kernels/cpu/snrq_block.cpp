#include <cstddef>
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

// The block's transposed normalized factor once, then each row through the
// shared row function (kernels/shared/snrq_rows.h); the bounded search gets
// one scratch per thread.
void snrq_block(backend::Context&, const snrq::Block& a) {
  const int64_t nb = a.i2 - a.i1;
  std::vector<double> lt(static_cast<size_t>(nb * nb));
  for (int64_t j = 0; j < nb; ++j)
    for (int64_t k = 0; k < nb; ++k) lt[j * nb + k] = snrq::block_lt(a.l, a.n, a.i1, j, k);
  if (a.greedy) {
#pragma omp parallel for schedule(static) if (a.rows > 32)
    for (int64_t r = 0; r < a.rows; ++r) snrq::greedy_row(a, lt.data(), r);
    return;
  }
#pragma omp parallel if (a.rows > 32)
  {
    std::vector<double> scratch((snrq::beam_scratch_bytes(a.beams, nb, a.n) + 7) / 8);
    const snrq::BeamScratch w = snrq::carve_beam_scratch(scratch.data(), a.beams, nb, a.n);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < a.rows; ++r) snrq::beam_row(a, lt.data(), r, w);
  }
}

}  // namespace maca::kernels::cpu
