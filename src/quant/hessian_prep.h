// Hessian preparation shared by GPTQ and GPTAQ (algorithms.md §2 steps 2–3):
// dead inputs, relative damping with retries, and the factors the rounders
// need. Everything is double precision.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/context.h"
#include "core/tensor.h"
#include "quant/quantize.h"

namespace maca::quant {

struct LoadedHessian {
  int64_t n = 0;
  std::vector<double> h;      // [n, n], dead diagonal entries set to 1, undamped
  std::vector<uint8_t> dead;  // [n], 1 where the original H_ii was 0
};

// Copies H (F32 [n, n]) to double and marks dead inputs; throws maca::Error
// naming the layer for a wrong shape or a non-finite entry.
LoadedHessian load_hessian(const Tensor& H, int64_t n, const std::string& layer);

struct DampedFactors {
  double damp = 0;               // the relative damping λ finally used
  std::vector<double> hinv_u;    // upper Cholesky factor of (Pᵀ·H_λ·P)⁻¹ in processing order
  std::vector<double> h_factor;  // lower Cholesky factor of H_λ, original order (if asked for)
};

// H_λ = H + λ·mean(diag H)·I, P the column permutation `perm` (processing
// position i holds input perm[i]). Starts at λ = opt.damp; when any Cholesky
// fails, λ *= 10, a warning names the layer and the new λ, and everything is
// redone from the undamped H; after opt.damp_retries increases it throws
// maca::Error naming the layer.
DampedFactors damped_factors(backend::Context& ctx, const LoadedHessian& h, const std::vector<int32_t>& perm,
                             const QuantOptions& opt, const std::string& layer, bool want_h_factor);

}  // namespace maca::quant
