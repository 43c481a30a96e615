#include "backend/op_table.h"

#include "core/error.h"

namespace maca::backend {

std::vector<OpSupport> op_support(const OpTable& t) {
  return {{"linear", t.linear != nullptr},
          {"gemm_f32", t.gemm_f32 != nullptr},
          {"gemm_f64", t.gemm_f64 != nullptr},
          {"gram_update_f32", t.gram_update_f32 != nullptr},
          {"gram_update_f64", t.gram_update_f64 != nullptr},
          {"cholesky", t.cholesky != nullptr},
          {"triangular_inverse", t.triangular_inverse != nullptr},
          {"cholesky_solve", t.cholesky_solve != nullptr},
          {"gemm_row_tiles", t.gemm_row_tiles != nullptr},
          {"axpy", t.axpy != nullptr},
          {"gather_columns", t.gather_columns != nullptr},
          {"group_params", t.group_params != nullptr},
          {"grid_round", t.grid_round != nullptr},
          {"gptq_columns", t.gptq_columns != nullptr},
          {"snrq_block", t.snrq_block != nullptr},
          {"snrq_descent", t.snrq_descent != nullptr},
          {"snrq_alpha_terms", t.snrq_alpha_terms != nullptr},
          {"weighted_rows", t.weighted_rows != nullptr},
          {"gram_fixed_point", t.gram_fixed_point != nullptr},
          {"rmsnorm", t.rmsnorm != nullptr},
          {"rope", t.rope != nullptr},
          {"attention", t.attention != nullptr},
          {"attention_cached", t.attention_cached != nullptr},
          {"gated_activation", t.gated_activation != nullptr},
          {"embedding", t.embedding != nullptr},
          {"add_inplace", t.add_inplace != nullptr},
          {"cross_entropy", t.cross_entropy != nullptr}};
}

bool supports(const Context& ctx, const std::string& op) {
  for (const OpSupport& s : op_support(ctx.ops()))
    if (s.op == op) return s.supported;
  MACA_THROW(Error, "supports(): no op named '{}'", op);
}

}  // namespace maca::backend
