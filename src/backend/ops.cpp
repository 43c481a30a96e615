// Dispatch of each op through the op table of its context's backend
// (backend/op_table.h), after checking that its tensors live on the
// context's device.
#include "backend/ops.h"

#include <initializer_list>

#include "backend/op_table.h"
#include "core/error.h"

namespace maca::backend {
namespace {

template <class Fn>
Fn need(Context& ctx, Fn OpTable::*entry, const char* op) {
  Fn f = ctx.ops().*entry;
  if (!f) MACA_THROW(Error, "op '{}' has no {} kernel in this build; run with --device cpu", op, ctx.ops().backend);
  return f;
}

// Defined tensors must be on the context's device (an internal invariant:
// callers allocate through the context).
void on_device(const Context& ctx, const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    MACA_ASSERT(!t->defined() || t->device() == ctx.device(), "op '{}': tensor {} is not on the context's {}", op,
                t->str(), ctx.device().str());
}

}  // namespace

void linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias, std::span<const int64_t> seq_lens,
            Tensor& y) {
  on_device(ctx, "linear", {&x, &w, &bias, &y});
  need(ctx, &OpTable::linear, "linear")(ctx, x, w, bias, seq_lens, y);
}

void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  need(ctx, &OpTable::gemm_f32, "gemm_f32")(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  need(ctx, &OpTable::gemm_f64, "gemm_f64")(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gram_update(Context& ctx, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, float beta, float* c,
                 int64_t ldc) {
  need(ctx, &OpTable::gram_update_f32, "gram_update_f32")(ctx, n, k, alpha, x, ldx, beta, c, ldc);
}

void gram_update(Context& ctx, int64_t n, int64_t k, double alpha, const double* x, int64_t ldx, double beta, double* c,
                 int64_t ldc) {
  need(ctx, &OpTable::gram_update_f64, "gram_update_f64")(ctx, n, k, alpha, x, ldx, beta, c, ldc);
}

bool cholesky(Context& ctx, int64_t n, double* a, int64_t lda, bool upper) {
  return need(ctx, &OpTable::cholesky, "cholesky")(ctx, n, a, lda, upper);
}

void triangular_inverse(Context& ctx, int64_t n, double* l, int64_t ldl, bool reversed) {
  need(ctx, &OpTable::triangular_inverse, "triangular_inverse")(ctx, n, l, ldl, reversed);
}

void cholesky_solve(Context& ctx, int64_t n, int64_t m, const double* factor, int64_t ldf, bool upper, double* b,
                    int64_t ldb) {
  need(ctx, &OpTable::cholesky_solve, "cholesky_solve")(ctx, n, m, factor, ldf, upper, b, ldb);
}

void gemm_row_tiles(Context& ctx, int64_t tile, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                    int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  need(ctx, &OpTable::gemm_row_tiles, "gemm_row_tiles")(ctx, tile, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void axpy(Context& ctx, int64_t n, double alpha, const double* x, double* y) {
  need(ctx, &OpTable::axpy, "axpy")(ctx, n, alpha, x, y);
}

void gather_columns(Context& ctx, int64_t rows, std::span<const int32_t> index, const double* in, int64_t ldi,
                    double* out, int64_t ldo) {
  need(ctx, &OpTable::gather_columns, "gather_columns")(ctx, rows, index, in, ldi, out, ldo);
}

void group_params(Context& ctx, const GroupParams& a) { need(ctx, &OpTable::group_params, "group_params")(ctx, a); }

void grid_round(Context& ctx, const GridRound& a) { need(ctx, &OpTable::grid_round, "grid_round")(ctx, a); }

void gptq_columns(Context& ctx, const GptqColumns& a, int64_t c0, int64_t c1) {
  need(ctx, &OpTable::gptq_columns, "gptq_columns")(ctx, a, c0, c1);
}

void snrq_block(Context& ctx, const snrq::Block& a) { need(ctx, &OpTable::snrq_block, "snrq_block")(ctx, a); }

void snrq_descent(Context& ctx, const snrq::Descent& a) {
  need(ctx, &OpTable::snrq_descent, "snrq_descent")(ctx, a);
}

void snrq_alpha_terms(Context& ctx, const snrq::AlphaTerms& a) {
  need(ctx, &OpTable::snrq_alpha_terms, "snrq_alpha_terms")(ctx, a);
}

void weighted_rows(Context& ctx, const WeightedRows& a) {
  need(ctx, &OpTable::weighted_rows, "weighted_rows")(ctx, a);
}

bool gram_fixed_point(Context& ctx, const GramFixedPoint& g) {
  return need(ctx, &OpTable::gram_fixed_point, "gram_fixed_point")(ctx, g);
}

void rmsnorm(Context& ctx, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y) {
  on_device(ctx, "rmsnorm", {&x, &w, &y});
  need(ctx, &OpTable::rmsnorm, "rmsnorm")(ctx, x, w, eps, unit_offset, y);
}

void rope(Context& ctx, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq,
          std::span<const int64_t> start) {
  on_device(ctx, "rope", {&x});
  need(ctx, &OpTable::rope, "rope")(ctx, x, seq_lens, inv_freq, start);
}

void attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, std::span<const int64_t> seq_lens,
               float scale, int64_t sliding_window, Tensor& out) {
  on_device(ctx, "attention", {&q, &k, &v, &out});
  need(ctx, &OpTable::attention, "attention")(ctx, q, k, v, seq_lens, scale, sliding_window, out);
}

void attention_cached(Context& ctx, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const CachedSeq> seqs, float scale, int64_t sliding_window, Tensor& out) {
  on_device(ctx, "attention_cached", {&q, &k_cache, &v_cache, &out});
  need(ctx, &OpTable::attention_cached, "attention_cached")(ctx, q, k_cache, v_cache, seqs, scale, sliding_window, out);
}

void gated_activation(Context& ctx, const Tensor& gate, const Tensor& up, Activation act, Tensor& out) {
  on_device(ctx, "gated_activation", {&gate, &up, &out});
  need(ctx, &OpTable::gated_activation, "gated_activation")(ctx, gate, up, act, out);
}

void embedding(Context& ctx, const Tensor& table, std::span<const int32_t> ids, float scale, Tensor& out) {
  on_device(ctx, "embedding", {&table, &out});
  need(ctx, &OpTable::embedding, "embedding")(ctx, table, ids, scale, out);
}

void add_inplace(Context& ctx, Tensor& y, const Tensor& x) {
  on_device(ctx, "add_inplace", {&y, &x});
  need(ctx, &OpTable::add_inplace, "add_inplace")(ctx, y, x);
}

void cross_entropy(Context& ctx, const Tensor& logits, std::span<const int32_t> targets, std::span<double> nll) {
  on_device(ctx, "cross_entropy", {&logits});
  need(ctx, &OpTable::cross_entropy, "cross_entropy")(ctx, logits, targets, nll);
}

}  // namespace maca::backend
