// The rounders behind quantize_linear (quantize.cpp dispatches). Internal to
// the quant area; options are already validated.
#pragma once

#include <string>
#include <vector>

#include "core/quantized.h"
#include "quant/hessian_prep.h"
#include "quant/quantize.h"

namespace maca::quant {

// W (host F32 [rows, cols], finite) as double; throws maca::Error naming the layer.
std::vector<double> load_weight(const Tensor& W, const std::string& layer);

// A result with the layer's shape and the grid settings of `opt` filled in
// (act_order/static_groups too when `with_order`), ready for codes and scales.
QuantizedLinear new_result(int64_t rows, int64_t cols, const QuantOptions& opt, bool with_order);

// Round to nearest on the grid, params per group of the original W.
QuantizedLinear rtn(const Tensor& W, const QuantOptions& opt, const std::string& layer);

// GPTQ (D == nullptr) or GPTAQ (D given: GPTQ on the shifted target).
QuantizedLinear gptq(const Tensor& W, const Tensor& H, const Tensor* D, const QuantOptions& opt,
                     const std::string& layer);

// GPTAQ's target W_α = W + α·W·D·H_λ⁻¹ (algorithms.md §4), in place on w
// [rows, cols] (dead columns already zeroed); dead rows/columns of D are zeroed
// first. factors.h_factor must hold the Cholesky factor of H_λ.
void gptaq_target(backend::Context& ctx, std::vector<double>& w, int64_t rows, const Tensor& D, const LoadedHessian& h,
                  const DampedFactors& factors, double alpha, const std::string& layer);

}  // namespace maca::quant
