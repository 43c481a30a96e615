#include <omp.h>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

// Only OpenMP gets the threads. The BLAS always runs single-threaded: the
// kernels call it once per fixed tile from their own parallel loops, so a
// result never depends on how a multi-threaded BLAS would split (and sum) the
// work for a given thread count.
void set_threads(int n) {
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  if (n > 0) omp_set_num_threads(n);
}

}  // namespace maca::kernels::cpu
