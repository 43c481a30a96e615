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

void linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias, std::span<const int64_t> seq_lens,
            Tensor& y) {
  require_cpu(ctx, "linear");
  kernels::cpu::linear(x, w, bias, seq_lens, y);
}

void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  require_cpu(ctx, "gemm");
  kernels::cpu::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  require_cpu(ctx, "gemm");
  kernels::cpu::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gram_update(Context& ctx, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, float beta, float* c,
                 int64_t ldc) {
  require_cpu(ctx, "gram_update");
  kernels::cpu::gram_update(n, k, alpha, x, ldx, beta, c, ldc);
}

void gram_update(Context& ctx, int64_t n, int64_t k, double alpha, const double* x, int64_t ldx, double beta, double* c,
                 int64_t ldc) {
  require_cpu(ctx, "gram_update");
  kernels::cpu::gram_update(n, k, alpha, x, ldx, beta, c, ldc);
}

bool cholesky(Context& ctx, int64_t n, double* a, int64_t lda, bool upper) {
  require_cpu(ctx, "cholesky");
  return kernels::cpu::cholesky(n, a, lda, upper);
}

void triangular_inverse(Context& ctx, int64_t n, const double* l, int64_t ldl, double* out, int64_t ldo) {
  require_cpu(ctx, "triangular_inverse");
  kernels::cpu::triangular_inverse(n, l, ldl, out, ldo);
}

void cholesky_solve(Context& ctx, int64_t n, int64_t m, const double* factor, int64_t ldf, bool upper, double* b,
                    int64_t ldb) {
  require_cpu(ctx, "cholesky_solve");
  kernels::cpu::cholesky_solve(n, m, factor, ldf, upper, b, ldb);
}

void gptq_columns(Context& ctx, const GptqColumns& a, int64_t c0, int64_t c1) {
  require_cpu(ctx, "gptq_columns");
  kernels::cpu::gptq_columns(a, c0, c1);
}

void rmsnorm(Context& ctx, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y) {
  require_cpu(ctx, "rmsnorm");
  kernels::cpu::rmsnorm(x, w, eps, unit_offset, y);
}

void rope(Context& ctx, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq,
          std::span<const int64_t> start) {
  require_cpu(ctx, "rope");
  kernels::cpu::rope(x, seq_lens, inv_freq, start);
}

void attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, std::span<const int64_t> seq_lens,
               float scale, int64_t sliding_window, Tensor& out) {
  require_cpu(ctx, "attention");
  kernels::cpu::attention(q, k, v, seq_lens, scale, sliding_window, out);
}

void attention_cached(Context& ctx, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const CachedSeq> seqs, float scale, int64_t sliding_window, Tensor& out) {
  require_cpu(ctx, "attention_cached");
  kernels::cpu::attention_cached(q, k_cache, v_cache, seqs, scale, sliding_window, out);
}

void gated_activation(Context& ctx, const Tensor& gate, const Tensor& up, Activation act, Tensor& out) {
  require_cpu(ctx, "gated_activation");
  kernels::cpu::gated_activation(gate, up, act, out);
}

void embedding(Context& ctx, const Tensor& table, std::span<const int32_t> ids, float scale, Tensor& out) {
  require_cpu(ctx, "embedding");
  kernels::cpu::embedding(table, ids, scale, out);
}

void add_inplace(Context& ctx, Tensor& y, const Tensor& x) {
  require_cpu(ctx, "add_inplace");
  kernels::cpu::add_inplace(y, x);
}

void cross_entropy(Context& ctx, const Tensor& logits, std::span<const int32_t> targets, std::span<double> nll) {
  require_cpu(ctx, "cross_entropy");
  kernels::cpu::cross_entropy(logits, targets, nll);
}

}  // namespace maca::backend
