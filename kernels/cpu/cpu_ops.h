// CPU implementations of the ops declared in src/backend/ops.h, one file per
// op stem (kernels/cpu/<op>.cpp), with the ops' signatures; op_table()
// (cpu_table.cpp) lists them for the dispatch in src/backend/ops.cpp. The CPU
// backend is the oracle every other backend is tested against.
#pragma once

#include "backend/op_table.h"
#include "backend/ops.h"

namespace maca::kernels::cpu {

// Threads for the OpenMP loops (n <= 0 keeps the OpenMP default); the BLAS is
// always set to one thread (see threads.cpp).
void set_threads(int n);

// This backend's op table (backend/op_table.h).
const backend::OpTable& op_table();

void linear(backend::Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias,
            std::span<const int64_t> seq_lens, Tensor& y);
void gemm(backend::Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(backend::Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);
void gram_update(backend::Context& ctx, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, float beta,
                 float* c, int64_t ldc);
void gram_update(backend::Context& ctx, int64_t n, int64_t k, double alpha, const double* x, int64_t ldx, double beta,
                 double* c, int64_t ldc);
bool cholesky(backend::Context& ctx, int64_t n, double* a, int64_t lda, bool upper);
void triangular_inverse(backend::Context& ctx, int64_t n, double* l, int64_t ldl, bool reversed);
void cholesky_solve(backend::Context& ctx, int64_t n, int64_t m, const double* factor, int64_t ldf, bool upper,
                    double* b, int64_t ldb);
void gemm_row_tiles(backend::Context& ctx, int64_t tile, int64_t m, int64_t n, int64_t k, double alpha,
                    const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);
void axpy(backend::Context& ctx, int64_t n, double alpha, const double* x, double* y);
void gather_columns(backend::Context& ctx, int64_t rows, std::span<const int32_t> index, const double* in,
                    int64_t ldi, double* out, int64_t ldo);
void group_params(backend::Context& ctx, const backend::GroupParams& a);
void grid_round(backend::Context& ctx, const backend::GridRound& a);
void gptq_columns(backend::Context& ctx, const backend::GptqColumns& a, int64_t c0, int64_t c1);
void snrq_block(backend::Context& ctx, const snrq::Block& a);
void snrq_descent(backend::Context& ctx, const snrq::Descent& a);
void snrq_alpha_terms(backend::Context& ctx, const snrq::AlphaTerms& a);
void weighted_rows(backend::Context& ctx, const backend::WeightedRows& a);
bool gram_fixed_point(backend::Context& ctx, const backend::GramFixedPoint& g);
void rmsnorm(backend::Context& ctx, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y);
void rope(backend::Context& ctx, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq,
          std::span<const int64_t> start);
void attention(backend::Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               std::span<const int64_t> seq_lens, float scale, int64_t sliding_window, Tensor& out);
void attention_cached(backend::Context& ctx, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const backend::CachedSeq> seqs, float scale, int64_t sliding_window, Tensor& out);
void gated_activation(backend::Context& ctx, const Tensor& gate, const Tensor& up, backend::Activation act,
                      Tensor& out);
void embedding(backend::Context& ctx, const Tensor& table, std::span<const int32_t> ids, float scale, Tensor& out);
void add_inplace(backend::Context& ctx, Tensor& y, const Tensor& x);
void cross_entropy(backend::Context& ctx, const Tensor& logits, std::span<const int32_t> targets,
                   std::span<double> nll);

}  // namespace maca::kernels::cpu
