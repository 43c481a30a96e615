#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

// Rows are independent, so each row walks the columns in order; every element
// receives the same updates in the same order as GPTQ's column-major loop, on
// whichever thread.
void gptq_columns(backend::Context&, const backend::GptqColumns& a, int64_t c0, int64_t c1) {
  const double maxq = a.maxq;
#pragma omp parallel for schedule(static) if (a.rows > 32)
  for (int64_t r = 0; r < a.rows; ++r) {
    double* w = a.w + r * a.ldw;
    double loss = 0.0;
    for (int64_t j = c0; j < c1; ++j) {
      const int64_t gi = static_cast<int64_t>(a.grp[j]) * a.ldp + r;
      const double s = a.scales[gi], z = a.zeros[gi];
      const double q = std::clamp(std::nearbyint(w[j] / s) + z, 0.0, maxq);
      const double* h = a.hinv + j * a.ldh;
      const double e = (w[j] - s * (q - z)) / h[j];
      a.codes[r * a.ldc + j] = static_cast<uint8_t>(q);
      a.err[r * a.lde + j] = e;
      loss += e * e / 2;
      for (int64_t k = j + 1; k < a.ncols; ++k) w[k] -= e * h[k];
    }
    a.loss[r] += loss;
  }
}

}  // namespace maca::kernels::cpu
