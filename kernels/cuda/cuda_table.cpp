#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {

// Ops without an entry have no CUDA kernel yet; backend::job_device never
// picks this backend for "auto" while any is missing.
const backend::OpTable& op_table() {
  static const backend::OpTable table{.backend = "cuda",
                                      .linear = linear,
                                      .gemm_f32 = gemm,
                                      .gemm_f64 = gemm,
                                      .gram_update_f32 = gram_update,
                                      .gram_update_f64 = gram_update,
                                      .cholesky = cholesky,
                                      .triangular_inverse = triangular_inverse,
                                      .cholesky_solve = cholesky_solve,
                                      .gemm_row_tiles = gemm_row_tiles,
                                      .axpy = axpy,
                                      .gather_columns = gather_columns,
                                      .group_params = group_params,
                                      .grid_round = grid_round,
                                      .gptq_columns = gptq_columns,
                                      .snrq_block = snrq_block,
                                      .snrq_descent = snrq_descent,
                                      .snrq_alpha_terms = snrq_alpha_terms,
                                      .weighted_rows = weighted_rows,
                                      .gram_fixed_point = gram_fixed_point,
                                      .rmsnorm = rmsnorm,
                                      .rope = rope,
                                      .attention = attention,
                                      .attention_cached = attention_cached,
                                      .gated_activation = gated_activation,
                                      .embedding = embedding,
                                      .add_inplace = add_inplace,
                                      .cross_entropy = cross_entropy};
  return table;
}

}  // namespace maca::kernels::cuda
