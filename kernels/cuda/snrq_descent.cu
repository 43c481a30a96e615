// snrq_descent: SNRQ's coordinate-descent passes (backend/ops.h), one thread
// per row running the CPU's row function (kernels/shared/snrq_rows.h).
// Compiled with -fmad=false (kernels/CMakeLists.txt): the CPU's bits.
#include <cstdint>

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

struct DescentRow {
  snrq::Descent a;
  __device__ void operator()(int64_t r) const { snrq::descent_row(a, r); }
};

}  // namespace

void snrq_descent(backend::Context& ctx, const snrq::Descent& a) {
  launch_per_row(cuda_context(ctx).cuda_stream(), a.rows, DescentRow{a});
}

}  // namespace maca::kernels::cuda
