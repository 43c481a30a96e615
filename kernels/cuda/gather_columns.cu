// gather_columns: out[r, i] = in[r·ldi + index[i]] (backend/ops.h). The host
// index is copied to the device; a 2-D grid, x over the output columns
// (consecutive threads write consecutive elements of a row), y over the rows,
// both grid-stride loops so any size fits the grid's limits.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"

namespace maca::kernels::cuda {
namespace {

constexpr int kColThreads = 128;
constexpr int kRowThreads = 2;

__global__ void gather_columns_kernel(int64_t rows, int64_t cols, const int32_t* index, const double* in, int64_t ldi,
                                      double* out, int64_t ldo) {
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  for (int64_t r = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; r < rows; r += row_stride) {
    const double* src = in + r * ldi;
    double* dst = out + r * ldo;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < cols; i += col_stride)
      dst[i] = src[index[i]];
  }
}

}  // namespace

void gather_columns(backend::Context& ctx, int64_t rows, std::span<const int32_t> index, const double* in, int64_t ldi,
                    double* out, int64_t ldo) {
  const auto cols = static_cast<int64_t>(index.size());
  if (rows == 0 || cols == 0) return;
  CudaContext& cc = cuda_context(ctx);
  const DeviceArray<int32_t> d_index(cc, index);
  const dim3 block(kColThreads, kRowThreads);
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((cols + kColThreads - 1) / kColThreads, 65535)),
                  static_cast<unsigned>(std::min<int64_t>((rows + kRowThreads - 1) / kRowThreads, 65535)));
  gather_columns_kernel<<<grid, block, 0, cc.cuda_stream()>>>(rows, cols, d_index.get(), in, ldi, out, ldo);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
