#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void gather_columns(backend::Context&, int64_t rows, std::span<const int32_t> index, const double* in, int64_t ldi,
                    double* out, int64_t ldo) {
  const auto cols = static_cast<int64_t>(index.size());
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i) out[r * ldo + i] = in[r * ldi + index[i]];
}

}  // namespace maca::kernels::cpu
