#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void snrq_alpha_terms(backend::Context&, const snrq::AlphaTerms& a) {
#pragma omp parallel for schedule(static) if (a.rows > 32)
  for (int64_t r = 0; r < a.rows; ++r) snrq::alpha_terms_row(a, r);
}

}  // namespace maca::kernels::cpu
