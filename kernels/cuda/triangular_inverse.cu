// triangular_inverse: X = L⁻¹ for a row-major lower-triangular L by one
// cuBLAS trsm. In the column-major view the row-major L is the upper
// triangular U = Lᵀ and X's row-major array is the column-major Xᵀ = U⁻¹,
// so out is filled with the identity and overwritten by the solution of
// U·Y = I (side LEFT, uplo UPPER, no transpose). The solution is upper
// triangular (row-major lower); its strict row-major upper triangle is set to
// zero afterwards so that out is exactly lower triangular whatever blocking
// cuBLAS uses. trsm has no atomics: the bits are the same on every run.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {
namespace {

enum class Fill { Identity, ZeroStrictUpper };

// Row-major a [n, n]: the identity, or zeros above the diagonal.
__global__ void fill_square(int64_t n, double* a, int64_t lda, Fill fill) {
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; i < n; i += row_stride)
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += col_stride) {
      if (fill == Fill::Identity)
        a[i * lda + j] = i == j ? 1.0 : 0.0;
      else if (j > i)
        a[i * lda + j] = 0.0;
    }
}

}  // namespace

void triangular_inverse(backend::Context& ctx, int64_t n, const double* l, int64_t ldl, double* out, int64_t ldo) {
  if (n == 0) return;
  CudaContext& c = cuda_context(ctx);
  const dim3 block(32, 8);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((n + 31) / 32, 1024)),
                  static_cast<unsigned>(std::min<int64_t>((n + 7) / 8, 65535)));
  fill_square<<<grid, block, 0, c.cuda_stream()>>>(n, out, ldo, Fill::Identity);
  MACA_CUDA_CHECK_LAUNCH();
  const double one = 1.0;
  MACA_CUBLAS_CHECK(cublasDtrsm_64(c.cublas(), CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                   CUBLAS_DIAG_NON_UNIT, n, n, &one, l, ldl, out, ldo));
  fill_square<<<grid, block, 0, c.cuda_stream()>>>(n, out, ldo, Fill::ZeroStrictUpper);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
