// triangular_inverse: L ← L⁻¹ in place for a row-major lower-triangular L, by
// column blocks of fixed width. In the column-major view the row-major L is
// the upper-triangular U = Lᵀ and L⁻¹'s row-major array is the column-major
// U⁻¹; column block [c0, c1) of U⁻¹ is U[0:c1, 0:c1]⁻¹ applied to the
// identity's columns [c0, c1), one single-threaded dtrsm per block into a
// scratch panel. A block reads only U's columns < c1, so blocks are solved
// from the last to the first in waves of one block per thread: every block of
// a wave reads columns the wave does not write, and the wave's panels are
// copied over their own columns only after the whole wave is solved. No
// n × n copy is made (for a 28672-wide down_proj, 6.6 GB), and each block's
// bits come from the same dtrsm on the same inputs whatever the thread count.
// `reversed` then rotates the result by 180° in place (a swap per pair).
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {
namespace {
constexpr int64_t kBlock = 64;
}  // namespace

void triangular_inverse(backend::Context&, int64_t n, double* l, int64_t ldl, bool reversed) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const int64_t wave = std::max(1, omp_get_max_threads());
  std::vector<double> panels(static_cast<size_t>(std::min(wave, blocks) * n * kBlock));
  for (int64_t top = blocks - 1; top >= 0; top -= wave) {
    const int64_t bottom = std::max<int64_t>(0, top - wave + 1);
#pragma omp parallel for schedule(dynamic) if (top > bottom)
    for (int64_t b = top; b >= bottom; --b) {  // the largest solves first
      const int64_t c0 = b * kBlock, c1 = std::min(n, c0 + kBlock);
      double* panel = panels.data() + (top - b) * n * kBlock;  // column-major [c1, c1 - c0], ld c1
      for (int64_t c = c0; c < c1; ++c) {
        std::fill_n(panel + (c - c0) * c1, c1, 0.0);
        panel[(c - c0) * c1 + c] = 1.0;
      }
      const char side = 'L', uplo = 'U', trans = 'N', diag = 'N';
      const int M = blas_int(c1, "n"), N = blas_int(c1 - c0, "n"), LDA = blas_int(ldl, "ldl"),
                LDB = blas_int(c1, "n");
      const double one = 1.0;
      dtrsm_(&side, &uplo, &trans, &diag, &M, &N, &one, l, &LDA, panel, &LDB);
    }
    // Column-major columns c0..c1 of U become those of U⁻¹: the panel's rows
    // [0, c1), zeros below (U⁻¹ is upper triangular).
#pragma omp parallel for schedule(static) if (top > bottom)
    for (int64_t b = top; b >= bottom; --b) {
      const int64_t c0 = b * kBlock, c1 = std::min(n, c0 + kBlock);
      const double* panel = panels.data() + (top - b) * n * kBlock;
      for (int64_t c = c0; c < c1; ++c) {
        std::copy_n(panel + (c - c0) * c1, c1, l + c * ldl);
        std::fill(l + c * ldl + c1, l + c * ldl + n, 0.0);
      }
    }
  }
  if (!reversed) return;
  // (i, j) <-> (n-1-i, n-1-j): rows i < n/2 with their mirror rows, then the
  // middle row of an odd n with itself.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n / 2; ++i) {
    double* a = l + i * ldl;
    double* b = l + (n - 1 - i) * ldl;
    for (int64_t j = 0; j < n; ++j) std::swap(a[j], b[n - 1 - j]);
  }
  if (n % 2 == 1) std::reverse(l + (n / 2) * ldl, l + (n / 2) * ldl + n);
}

}  // namespace maca::kernels::cpu
