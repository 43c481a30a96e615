// grid_round: round to nearest on fixed group parameters (backend/ops.h), one
// thread per row running the CPU's grid::round_row
// (kernels/shared/grid_params.h). Compiled with -fmad=false
// (kernels/CMakeLists.txt), so codes and losses are the CPU's bit for bit.
#include <cstdint>

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

struct RoundRow {
  backend::GridRound a;
  __device__ void operator()(int64_t r) const {
    a.loss[r] = grid::round_row(a.x + r * a.ld, a.n, a.scales + r, a.zeros + r, a.ldp, a.grp, a.maxq,
                                a.codes + r * a.n);
  }
};

}  // namespace

void grid_round(backend::Context& ctx, const backend::GridRound& a) {
  launch_per_row(cuda_context(ctx).cuda_stream(), a.rows, RoundRow{a});
}

}  // namespace maca::kernels::cuda
