// triangular_inverse: X = L⁻¹ for a row-major lower-triangular L, by column
// blocks of fixed width. In the column-major view the row-major L is the
// upper-triangular U = Lᵀ and X's row-major array is the column-major
// (U⁻¹); column block [c0, c1) of U⁻¹ is U[0:c1, 0:c1]⁻¹ applied to the
// identity's columns [c0, c1), one single-threaded dtrsm per block. Blocks are
// independent, so they run in parallel and the bits do not depend on threads.
#include <algorithm>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {
namespace {
constexpr int64_t kBlock = 64;
}  // namespace

void triangular_inverse(backend::Context&, int64_t n, const double* l, int64_t ldl, double* out, int64_t ldo) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic) if (blocks > 1)
  for (int64_t b = blocks - 1; b >= 0; --b) {  // the largest solves first
    const int64_t c0 = b * kBlock, c1 = std::min(n, c0 + kBlock);
    // Column-major columns c0..c1 of out: zero, with the identity's ones.
    for (int64_t c = c0; c < c1; ++c) {
      std::fill_n(out + c * ldo, n, 0.0);
      out[c * ldo + c] = 1.0;
    }
    const char side = 'L', uplo = 'U', trans = 'N', diag = 'N';
    const int M = blas_int(c1, "n"), N = blas_int(c1 - c0, "n"), LDA = blas_int(ldl, "ldl"),
              LDB = blas_int(ldo, "ldo");
    const double one = 1.0;
    dtrsm_(&side, &uplo, &trans, &diag, &M, &N, &one, l, &LDA, out + c0 * ldo, &LDB);
  }
}

}  // namespace maca::kernels::cpu
