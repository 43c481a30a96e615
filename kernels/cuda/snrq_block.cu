// snrq_block: one block of SNRQ's successive rounding (backend/ops.h), one
// thread per row running the CPU's row function (kernels/shared/snrq_rows.h),
// after a small kernel fills the block's transposed normalized factor. The
// bounded search's per-row state lives in a stream-ordered scratch of
// beam_scratch_bytes per row (global memory; rows rarely share a block's
// beams, and K·(2K + 1) candidates per column leave little for shared memory
// to save). Compiled with -fmad=false (kernels/CMakeLists.txt), so the codes,
// residuals and scores are the CPU's bit for bit.
#include <cstdint>
#include <memory>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

__global__ void block_lt_kernel(const double* l, int64_t n, int64_t i1, int64_t nb, double* lt) {
  for (int64_t i = grid_first(); i < nb * nb; i += grid_stride()) lt[i] = snrq::block_lt(l, n, i1, i / nb, i % nb);
}

struct GreedyRow {
  snrq::Block a;
  const double* lt;
  __device__ void operator()(int64_t r) const { snrq::greedy_row(a, lt, r); }
};

struct BeamRow {
  snrq::Block a;
  const double* lt;
  unsigned char* scratch;
  size_t row_bytes;
  __device__ void operator()(int64_t r) const {
    snrq::beam_row(a, lt, r, snrq::carve_beam_scratch(scratch + r * row_bytes, a.beams, a.i2 - a.i1, a.n));
  }
};

}  // namespace

void snrq_block(backend::Context& ctx, const snrq::Block& a) {
  if (a.rows == 0 || a.i2 <= a.i1) return;
  CudaContext& c = cuda_context(ctx);
  const int64_t nb = a.i2 - a.i1;
  const std::shared_ptr<void> lt = c.scratch(static_cast<size_t>(nb * nb) * sizeof(double));
  auto* ltp = static_cast<double*>(lt.get());
  block_lt_kernel<<<elementwise_blocks(nb * nb), kElementwiseThreads, 0, c.cuda_stream()>>>(a.l, a.n, a.i1, nb, ltp);
  MACA_CUDA_CHECK_LAUNCH();
  if (a.greedy) {
    launch_per_row(c.cuda_stream(), a.rows, GreedyRow{a, ltp});
    return;
  }
  const size_t row_bytes = snrq::beam_scratch_bytes(a.beams, nb, a.n);
  const std::shared_ptr<void> scratch = c.scratch(row_bytes * static_cast<size_t>(a.rows));
  launch_per_row(c.cuda_stream(), a.rows, BeamRow{a, ltp, static_cast<unsigned char*>(scratch.get()), row_bytes});
}

}  // namespace maca::kernels::cuda
