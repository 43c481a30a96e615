// triangular_inverse: L ← L⁻¹ in place for a row-major lower-triangular L by
// one cuBLAS trsm into a scratch square. In the column-major view the
// row-major L is the upper triangular U = Lᵀ and L⁻¹'s row-major array is the
// column-major U⁻¹, so the scratch is filled with the identity and
// overwritten by the solution of U·Y = I (side LEFT, uplo UPPER, no
// transpose). One copy kernel then writes it over L: as is, or rotated by
// 180° (`reversed`), with exact zeros in the other triangle whatever blocking
// cuBLAS used. trsm has no atomics: the bits are the same on every run. The
// scratch is n × n doubles of device memory for the call (the CPU kernel
// needs none; GPU memory is not the limit this op sets).
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"

namespace maca::kernels::cuda {
namespace {

// Row-major a [n, n] (leading dimension n): the identity.
__global__ void identity(int64_t n, double* a) {
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; i < n; i += row_stride)
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += col_stride)
      a[i * n + j] = i == j ? 1.0 : 0.0;
}

// out[i][j] = x[si][sj] with (si, sj) = (i, j), or (n−1−i, n−1−j) when
// reversed; x is lower triangular, so entries with sj > si are zero.
__global__ void store(int64_t n, const double* x, double* out, int64_t ldo, bool reversed) {
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; i < n; i += row_stride)
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += col_stride) {
      const int64_t si = reversed ? n - 1 - i : i, sj = reversed ? n - 1 - j : j;
      out[i * ldo + j] = sj > si ? 0.0 : x[si * n + sj];
    }
}

}  // namespace

void triangular_inverse(backend::Context& ctx, int64_t n, double* l, int64_t ldl, bool reversed) {
  if (n == 0) return;
  CudaContext& c = cuda_context(ctx);
  const DeviceArray<double> x(c, static_cast<size_t>(n * n));
  const dim3 block(32, 8);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((n + 31) / 32, 1024)),
                  static_cast<unsigned>(std::min<int64_t>((n + 7) / 8, 65535)));
  identity<<<grid, block, 0, c.cuda_stream()>>>(n, x.get());
  MACA_CUDA_CHECK_LAUNCH();
  const double one = 1.0;
  MACA_CUBLAS_CHECK(cublasDtrsm_64(c.cublas(), CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                   CUBLAS_DIAG_NON_UNIT, n, n, &one, l, ldl, x.get(), n));
  store<<<grid, block, 0, c.cuda_stream()>>>(n, x.get(), l, ldl, reversed);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
