// group_params: one thread per row calling grid::row_params
// (kernels/shared/grid_params.h), the function the CPU runs, on the row's
// values in the row's order, so the sums (clip error, the Best rule's errors)
// are the CPU's sums.
//
// Bitwise agreement with the CPU (x86-64, which contracts nothing into FMAs)
// needs this file compiled with -fmad=false (set in kernels/CMakeLists.txt):
// nvcc otherwise fuses row_params' products and sums into FMAs, which round
// once instead of twice. Division and rint are correctly rounded on both
// sides. CUDA's pow, used only by the clip search (|q − x|^clip_norm), may
// differ from glibc's in the last ulp, so with clip enabled two error sums
// that tie or nearly tie can order differently and pick another shrink step
// (scale and zero then differ); without clip the results are bit-identical.
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {
namespace {

// Small blocks: a row's work is long (len values, times the clip grid's
// steps), and a layer has a few thousand rows, so spread them over the SMs.
constexpr int kThreads = 64;

__global__ void group_params_kernel(backend::GroupParams a) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= a.rows) return;
  grid::row_params(a.spec, a.x + r * a.ld, a.len, 1, a.scale + r, a.zero + r);
}

}  // namespace

void group_params(backend::Context& ctx, const backend::GroupParams& a) {
  if (a.rows == 0) return;
  const int64_t blocks = (a.rows + kThreads - 1) / kThreads;
  MACA_CUDA_REQUIRE(blocks <= INT32_MAX, "group_params: too many rows for one launch");
  group_params_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, cuda_context(ctx).cuda_stream()>>>(a);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
