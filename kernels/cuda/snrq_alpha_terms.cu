// snrq_alpha_terms: the closed-form α's per-row terms (backend/ops.h), one
// thread per row summing in the CPU's order (kernels/shared/snrq_rows.h).
// Compiled with -fmad=false (kernels/CMakeLists.txt): the CPU's bits.
#include <cstdint>

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"

namespace maca::kernels::cuda {
namespace {

struct AlphaTermsRow {
  snrq::AlphaTerms a;
  __device__ void operator()(int64_t r) const { snrq::alpha_terms_row(a, r); }
};

}  // namespace

void snrq_alpha_terms(backend::Context& ctx, const snrq::AlphaTerms& a) {
  launch_per_row(cuda_context(ctx).cuda_stream(), a.rows, AlphaTermsRow{a});
}

}  // namespace maca::kernels::cuda
