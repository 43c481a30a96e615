// Dispatch of each op on the context's device. The CUDA branch exists only in
// builds with the CUDA backend; elsewhere a CUDA context cannot be created.
#include "backend/ops.h"

#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::backend {
namespace {
void require_cpu(const Context& ctx, const char* op) {
  if (!ctx.device().is_cpu())
    MACA_THROW(Error, "op '{}' has no implementation on {} yet; run with --device cpu", op, ctx.device().str());
}
}  // namespace

void linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  require_cpu(ctx, "linear");
  kernels::cpu::linear(x, w, bias, y);
}

void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  require_cpu(ctx, "gemm");
  kernels::cpu::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace maca::backend
