// QuantizedLinear: the result of rounding one linear layer, as plain data.
// Produced by quant/ (RTN, GPTQ, GPTAQ, ...), consumed by io/ (GPTQ and
// fake-quant export, HDF5 checkpoints) and pipeline/ (the quantized forward).
// It lives in core because both io and quant use it and neither may depend on
// the other.
//
// Layout follows the GPTQ checkpoint (formats.md): W is [rows = out features,
// cols = in features]; column k belongs to group g_idx[k]; scales and zeros are
// [n_groups, rows]. Dequantized weight: W'[r][k] = scale[g][r] * (code[r][k] -
// zero[g][r]) with g = g_idx[k]. Scales are always exactly representable in
// fp16, so the fp16 GPTQ export dequantizes to the same numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace maca {

struct QuantizedLinear {
  int64_t rows = 0, cols = 0;
  int bits = 4;
  int64_t group_size = 128;  // -1: one group per row
  bool sym = true;
  bool act_order = false;
  bool static_groups = false;
  std::vector<uint8_t> codes;   // [rows, cols], original column order, values 0..2^bits-1
  std::vector<float> scales;    // [n_groups, rows], fp16-representable
  std::vector<int32_t> zeros;   // [n_groups, rows], 0..2^bits-1
  std::vector<int32_t> g_idx;   // [cols]
  std::vector<int32_t> perm;    // [cols] processing order (identity without act-order)
  double loss = 0;              // the rounder's objective: ½·tr((T−Q)·H_λ·(T−Q)ᵀ) for the Hessian methods
                                // (T the target: W, or GPTAQ's/SNRQ's shifted one), Σ (w−q)² for RTN
  double damp = 0;              // relative damping finally used (after retries)
  double alpha = 0;             // asymmetric interpolation used (GPTAQ/SNRQ), 0 for GPTQ
  std::string alpha_source;     // where alpha came from (SNRQ: fixed, sample, closed_form ...); empty otherwise
  // SNRQ's closed-form α terms per row: [rows, 2] = ⟨Q−W, W·D⟩ and W·D·H_λ⁻¹·(W·D)ᵀ of
  // the row (quant::closed_form_alpha sums them); empty for other methods.
  std::vector<double> alpha_terms;
  std::string method;           // rtn | gptq | gptaq | snrq | ksnrq

  int64_t n_groups() const { return static_cast<int64_t>(scales.size()) / (rows > 0 ? rows : 1); }

  // Dequantized weight [rows, cols] (row-major fp32).
  std::vector<float> dequantize() const {
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < cols; ++k) {
        const int64_t g = g_idx[static_cast<size_t>(k)];
        const size_t gi = static_cast<size_t>(g * rows + r);
        w[static_cast<size_t>(r * cols + k)] =
            scales[gi] * static_cast<float>(static_cast<int32_t>(codes[static_cast<size_t>(r * cols + k)]) - zeros[gi]);
      }
    return w;
  }
};

}  // namespace maca
