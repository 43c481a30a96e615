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

// GPTAQ's target W_α = W + α·W·D·H_λ⁻¹ (algorithms.md §4) in two steps:
// gptaq_cross gives D as double [n, n] with dead rows/columns zeroed (throws
// naming the layer on a bad D); gptaq_shift applies the shift in place to
// rows [rows, n] of w (dead columns already zeroed) with factors.h_factor,
// the Cholesky factor of H_λ. Rows are independent.
std::vector<double> gptaq_cross(const Tensor& D, const LoadedHessian& h, const std::string& layer);
void gptaq_shift(backend::Context& ctx, double* w, int64_t rows, int64_t n, const std::vector<double>& d,
                 const DampedFactors& factors, double alpha);

}  // namespace maca::quant
