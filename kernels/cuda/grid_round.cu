// grid_round: round to nearest on fixed group parameters (backend/ops.h), one
// thread per row running the CPU's grid::round_row
// (kernels/shared/grid_params.h). Compiled with -fmad=false
// (kernels/CMakeLists.txt), so codes and losses are the CPU's bit for bit.
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {
namespace {

constexpr int kRowThreads = 64;

__global__ void grid_round_kernel(backend::GridRound a) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < a.rows)
    a.loss[r] =
        grid::round_row(a.x + r * a.ld, a.n, a.scales + r, a.zeros + r, a.ldp, a.grp, a.maxq, a.codes + r * a.n);
}

}  // namespace

void grid_round(backend::Context& ctx, const backend::GridRound& a) {
  if (a.rows == 0) return;
  const int64_t blocks = (a.rows + kRowThreads - 1) / kRowThreads;
  MACA_CUDA_REQUIRE(blocks <= INT32_MAX, "grid_round: too many rows for one launch");
  grid_round_kernel<<<static_cast<unsigned>(blocks), kRowThreads, 0, cuda_context(ctx).cuda_stream()>>>(a);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
