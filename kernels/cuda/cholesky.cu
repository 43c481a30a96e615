// cholesky, cholesky_solve: cuSOLVER potrf/potrs on row-major buffers. A
// row-major matrix is the column-major transpose, so the row-major lower
// triangle is cuSOLVER's UPPER and vice versa (kernels/cpu/cholesky.cpp);
// symmetric inputs are unaffected. A row-major lower factor L (a = L·Lᵀ) is
// the column-major upper U = Lᵀ with a = Uᵀ·U, potrf's UPPER result.
#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"

namespace maca::kernels::cuda {
namespace {

cublasFillMode_t solver_uplo(bool upper) { return upper ? CUBLAS_FILL_MODE_LOWER : CUBLAS_FILL_MODE_UPPER; }

// A size for cuSOLVER's 32-bit legacy interface.
int solver_int(int64_t v) {
  MACA_CUDA_REQUIRE(v >= 0 && v <= INT_MAX, "cholesky: a size exceeds cuSOLVER's 32-bit interface");
  return static_cast<int>(v);
}

// Zeroes the strict row-major triangle opposite to `upper` (below the
// diagonal when upper, above it otherwise) of a [n, n].
__global__ void zero_other_triangle(int64_t n, double* a, int64_t lda, bool upper) {
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  for (int64_t i = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; i < n; i += row_stride)
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += col_stride)
      if (upper ? j < i : j > i) a[i * lda + j] = 0.0;
}

}  // namespace

bool cholesky(backend::Context& ctx, int64_t n, double* a, int64_t lda, bool upper) {
  if (n == 0) return true;
  CudaContext& c = cuda_context(ctx);
  const cublasFillMode_t uplo = solver_uplo(upper);
  const int N = solver_int(n), LDA = solver_int(lda);
  int lwork = 0;
  MACA_CUSOLVER_CHECK(cusolverDnDpotrf_bufferSize(c.cusolver(), uplo, N, a, LDA, &lwork));
  DeviceArray<double> work(c, static_cast<size_t>(std::max(lwork, 1)));
  DeviceArray<int> dev_info(c, 1);
  MACA_CUSOLVER_CHECK(cusolverDnDpotrf(c.cusolver(), uplo, N, a, LDA, work.get(), lwork, dev_info.get()));
  // The one synchronization of the linear-algebra ops: the caller needs to
  // know whether a was positive definite.
  int info = 0;
  MACA_CUDA_CHECK(cudaMemcpyAsync(&info, dev_info.get(), sizeof(int), cudaMemcpyDeviceToHost, c.cuda_stream()));
  MACA_CUDA_CHECK(cudaStreamSynchronize(c.cuda_stream()));
  MACA_CUDA_REQUIRE(info >= 0, "cusolverDnDpotrf: invalid argument");
  if (info > 0) return false;

  const dim3 block(32, 8);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((n + 31) / 32, 1024)),
                  static_cast<unsigned>(std::min<int64_t>((n + 7) / 8, 65535)));
  zero_other_triangle<<<grid, block, 0, c.cuda_stream()>>>(n, a, lda, upper);
  MACA_CUDA_CHECK_LAUNCH();
  return true;
}

// b [m, n] row-major is the column-major bᵀ [n, m] (ldb), and A is symmetric,
// so b·A⁻¹ = (A⁻¹·bᵀ)ᵀ: potrs with the columns of bᵀ as right-hand sides, one
// call per tile of kSolveTile rows of b counted from row 0 (backend/ops.h).
// Every full tile is the same call, so a row's bits depend only on its tile,
// never on m. potrs reports through devInfo only invalid arguments, for which
// it also returns CUSOLVER_STATUS_INVALID_VALUE (checked), so devInfo is not
// read back and the op stays asynchronous.
void cholesky_solve(backend::Context& ctx, int64_t n, int64_t m, const double* factor, int64_t ldf, bool upper,
                    double* b, int64_t ldb) {
  if (n == 0 || m == 0) return;
  constexpr int64_t kSolveTile = 32;
  CudaContext& c = cuda_context(ctx);
  const cublasFillMode_t uplo = solver_uplo(upper);
  const int N = solver_int(n), LDF = solver_int(ldf), LDB = solver_int(ldb);
  DeviceArray<int> dev_info(c, 1);
  for (int64_t r0 = 0; r0 < m; r0 += kSolveTile) {
    const int nrhs = static_cast<int>(std::min(kSolveTile, m - r0));
    MACA_CUSOLVER_CHECK(cusolverDnDpotrs(c.cusolver(), uplo, N, nrhs, factor, LDF, b + r0 * ldb, LDB, dev_info.get()));
  }
}

}  // namespace maca::kernels::cuda
