// The ops one backend implements (ggml's supports_op idea): one function
// pointer per op of backend/ops.h, with the same signature, null where the
// backend has no kernel. Each backend fills exactly one table
// (kernels/cpu/cpu_table.cpp, kernels/cuda/cuda_table.cu) and its Context
// returns it; backend/ops.cpp dispatches every op through the table of the
// op's context. Adding an op to a backend is filling its entry; adding a
// backend is one more table.
#pragma once

#include <string>
#include <vector>

#include "backend/ops.h"

namespace maca::backend {

struct OpTable {
  const char* backend = "";  // "cpu", "cuda"

  void (*linear)(Context&, const Tensor& x, const Tensor& w, const Tensor& bias, std::span<const int64_t> seq_lens,
                 Tensor& y) = nullptr;
  void (*gemm_f32)(Context&, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) = nullptr;
  void (*gemm_f64)(Context&, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                   int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) = nullptr;
  void (*gram_update_f32)(Context&, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, float beta,
                          float* c, int64_t ldc) = nullptr;
  void (*gram_update_f64)(Context&, int64_t n, int64_t k, double alpha, const double* x, int64_t ldx, double beta,
                          double* c, int64_t ldc) = nullptr;
  bool (*cholesky)(Context&, int64_t n, double* a, int64_t lda, bool upper) = nullptr;
  void (*triangular_inverse)(Context&, int64_t n, double* l, int64_t ldl, bool reversed) = nullptr;
  void (*cholesky_solve)(Context&, int64_t n, int64_t m, const double* factor, int64_t ldf, bool upper, double* b,
                         int64_t ldb) = nullptr;
  void (*gemm_row_tiles)(Context&, int64_t tile, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                         int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) = nullptr;
  void (*axpy)(Context&, int64_t n, double alpha, const double* x, double* y) = nullptr;
  void (*gather_columns)(Context&, int64_t rows, std::span<const int32_t> index, const double* in, int64_t ldi,
                         double* out, int64_t ldo) = nullptr;
  void (*group_params)(Context&, const GroupParams& a) = nullptr;
  void (*grid_round)(Context&, const GridRound& a) = nullptr;
  void (*gptq_columns)(Context&, const GptqColumns& a, int64_t c0, int64_t c1) = nullptr;
  void (*snrq_block)(Context&, const snrq::Block& a) = nullptr;
  void (*snrq_descent)(Context&, const snrq::Descent& a) = nullptr;
  void (*snrq_alpha_terms)(Context&, const snrq::AlphaTerms& a) = nullptr;
  void (*weighted_rows)(Context&, const WeightedRows& a) = nullptr;
  bool (*gram_fixed_point)(Context&, const GramFixedPoint& g) = nullptr;
  void (*rmsnorm)(Context&, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y) = nullptr;
  void (*rope)(Context&, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq,
               std::span<const int64_t> start) = nullptr;
  void (*attention)(Context&, const Tensor& q, const Tensor& k, const Tensor& v, std::span<const int64_t> seq_lens,
                    float scale, int64_t sliding_window, Tensor& out) = nullptr;
  void (*attention_cached)(Context&, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                           std::span<const CachedSeq> seqs, float scale, int64_t sliding_window, Tensor& out) = nullptr;
  void (*gated_activation)(Context&, const Tensor& gate, const Tensor& up, Activation act, Tensor& out) = nullptr;
  void (*embedding)(Context&, const Tensor& table, std::span<const int32_t> ids, float scale, Tensor& out) = nullptr;
  void (*add_inplace)(Context&, Tensor& y, const Tensor& x) = nullptr;
  void (*cross_entropy)(Context&, const Tensor& logits, std::span<const int32_t> targets,
                        std::span<double> nll) = nullptr;
};

// Every op's name with whether `t` implements it, in the order above.
struct OpSupport {
  std::string op;
  bool supported;
};
std::vector<OpSupport> op_support(const OpTable& t);

// True when ctx's backend implements `op` (a name from op_support).
bool supports(const Context& ctx, const std::string& op);

}  // namespace maca::backend
