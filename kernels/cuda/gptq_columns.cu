// gptq_columns: GPTQ's column loop over one block (backend/ops.h), one warp
// per row, since rows are independent. For each column j in order, every lane
// computes the same code and error for w[r, j] (kernels/shared/gptq_step.h),
// lane 0 stores them and accumulates the row's loss, then the lanes update
// w[r, k] −= e·hinv[j, k] for the later columns k, strided by 32, and meet at
// __syncwarp, which also orders those writes before the next column's reads.
// Each element sees the same operations in the same order as on the CPU,
// each rounded on its own (the shared step uses _rn intrinsics, never fused
// into FMAs), so the results are the CPU's bit for bit.
// All pointers of GptqColumns are device pointers.
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/shared/gptq_step.h"

namespace maca::kernels::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 4;

__global__ void gptq_columns_kernel(backend::GptqColumns a, int64_t c0, int64_t c1) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (r >= a.rows) return;  // the whole warp: no barrier below involves other warps
  double* w = a.w + r * a.ldw;
  const double maxq = a.maxq;
  double loss = 0.0;
  for (int64_t j = c0; j < c1; ++j) {
    const int64_t gi = static_cast<int64_t>(a.grp[j]) * a.ldp + r;
    const double s = a.scales[gi], z = a.zeros[gi];
    const double* h = a.hinv + j * a.ldh;
    const GptqStep st = gptq_step(w[j], s, z, maxq, h[j]);
    if (lane == 0) {
      a.codes[r * a.ldc + j] = static_cast<uint8_t>(st.q);
      a.err[r * a.lde + j] = st.e;
      loss = gptq_add_loss(loss, st.e);
    }
    for (int64_t k = j + 1 + lane; k < a.ncols; k += kWarp) w[k] = gptq_update(w[k], st.e, h[k]);
    __syncwarp();
  }
  if (lane == 0) a.loss[r] = gptq_sum(a.loss[r], loss);
}

}  // namespace

void gptq_columns(backend::Context& ctx, const backend::GptqColumns& a, int64_t c0, int64_t c1) {
  if (a.rows == 0 || c1 <= c0) return;
  MACA_CUDA_REQUIRE(c0 >= 0 && c1 <= a.ncols, "gptq_columns: columns [c0, c1) outside the block");
  const int64_t blocks = (a.rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  MACA_CUDA_REQUIRE(blocks <= INT32_MAX, "gptq_columns: too many rows for one launch");
  gptq_columns_kernel<<<static_cast<unsigned>(blocks), kWarpsPerBlock * kWarp, 0, cuda_context(ctx).cuda_stream()>>>(
      a, c0, c1);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
