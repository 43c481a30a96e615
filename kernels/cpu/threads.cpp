#include <omp.h>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void set_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

}  // namespace maca::kernels::cpu
