// snrq_alpha_terms: the closed-form α's per-row terms (backend/ops.h), one
// thread per row summing in the CPU's order (kernels/shared/snrq_rows.h).
// Compiled with -fmad=false (kernels/CMakeLists.txt): the CPU's bits.
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {
namespace {

constexpr int kRowThreads = 64;

__global__ void alpha_terms_kernel(snrq::AlphaTerms a) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < a.rows) snrq::alpha_terms_row(a, r);
}

}  // namespace

void snrq_alpha_terms(backend::Context& ctx, const snrq::AlphaTerms& a) {
  if (a.rows == 0) return;
  const int64_t blocks = (a.rows + kRowThreads - 1) / kRowThreads;
  MACA_CUDA_REQUIRE(blocks <= INT32_MAX, "snrq_alpha_terms: too many rows for one launch");
  alpha_terms_kernel<<<static_cast<unsigned>(blocks), kRowThreads, 0, cuda_context(ctx).cuda_stream()>>>(a);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
