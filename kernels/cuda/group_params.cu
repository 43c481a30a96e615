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

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

// A row's work is long (len values, times the clip grid's steps): one thread each.
struct ParamsRow {
  backend::GroupParams a;
  __device__ void operator()(int64_t r) const {
    grid::row_params(a.spec, a.x + r * a.ld, a.len, 1, a.scale + r, a.zero + r);
  }
};

}  // namespace

void group_params(backend::Context& ctx, const backend::GroupParams& a) {
  launch_per_row(cuda_context(ctx).cuda_stream(), a.rows, ParamsRow{a});
}

}  // namespace maca::kernels::cuda
