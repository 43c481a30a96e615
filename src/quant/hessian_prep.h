// Hessian preparation shared by the Hessian methods (algorithms.md §2 steps 2–3):
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

// A view of the caller's F32 H with dead inputs marked. Entries are read as
// doubles on demand, so no n×n double copy is held next to the factors (for
// a 28672-wide down_proj that copy alone would be 6.6 GB).
struct LoadedHessian {
  int64_t n = 0;
  const float* src = nullptr;  // [n, n] F32, owned by the caller, undamped
  std::vector<uint8_t> dead;   // [n], 1 where the original H_ii was 0
  // H_ij with dead diagonal entries read as 1.
  double at(int64_t i, int64_t j) const {
    return i == j && dead[static_cast<size_t>(i)] ? 1.0 : static_cast<double>(src[i * n + j]);
  }
};

// Views H (F32 [n, n], which must outlive the result) and marks dead inputs;
// throws maca::Error naming the layer for a wrong shape or a non-finite entry.
LoadedHessian load_hessian(const Tensor& H, int64_t n, const std::string& layer);

// Which factors to compute (each [n, n] double).
struct FactorRequest {
  bool hinv_u = false;    // GPTQ's loop
  bool h_factor = false;  // GPTAQ's target shift
  bool hp_lower = false;  // SNRQ's decoder and target shift
  bool hp = false;        // SNRQ's coordinate-descent passes
};

// The factors, F64 [n, n] on the context's device (undefined unless requested).
struct DampedFactors {
  double damp = 0;  // the relative damping λ finally used
  Tensor hinv_u;    // upper Cholesky factor of (Pᵀ·H_λ·P)⁻¹ in processing order
  Tensor h_factor;  // lower Cholesky factor of H_λ, original order
  Tensor hp_lower;  // lower Cholesky factor of Pᵀ·H_λ·P (processing order)
  Tensor hp;        // Pᵀ·H_λ·P itself
};

// Fills out's requested factors and out.damp, for H_λ = H + λ·mean(diag H)·I
// and P the column permutation `perm` (processing position i holds input
// perm[i]). The damped matrices are assembled on the host and factored with
// ctx's ops (cuSOLVER on a GPU). A host factor `out` already holds (memory
// the caller chose, e.g. shared by the ranks of a node) is filled in place;
// any other is made on ctx's device. Starts at λ = opt.damp; when any Cholesky
// fails, λ *= 10, a warning names the layer and the new λ, and everything is
// redone from the undamped H; after opt.damp_retries increases it throws
// maca::Error naming the layer.
void damped_factors(backend::Context& ctx, const LoadedHessian& h, const std::vector<int32_t>& perm,
                    const QuantOptions& opt, const std::string& layer, FactorRequest want, DampedFactors& out);

}  // namespace maca::quant
