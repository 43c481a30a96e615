// The backend operation set. Every op takes the Context explicitly and
// dispatches on its device to kernels/cpu/<op>.cpp or kernels/cuda/<op>.cu
// (same stem, same semantics; the CPU version is the oracle the CUDA one is
// tested against). All tensors are row-major fp32 on the context's device
// unless stated otherwise. Sequences of different lengths are packed along the
// token dimension and described by `seq_lens` (sum = number of rows).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/context.h"

namespace maca::backend {

// y[M,N] = x[M,K] · w[N,K]ᵀ (+ bias[N] when defined). The weight layout is the
// PyTorch nn.Linear one.
void linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y);

// General single-precision GEMM on raw row-major buffers:
// C[M,N] = alpha · op(A) · op(B) + beta · C.
void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// y = x / rms(x) * (w or 1 + w) over the last dimension (x is [rows, d]).
// unit_offset selects Gemma's (1 + w) convention. y may alias x.
void rmsnorm(Context& ctx, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y);

// Rotary embedding (HF "rotate_half" layout) applied in place to x
// [tokens, heads, head_dim]; positions restart at 0 for every sequence.
// inv_freq has head_dim/2 entries (already including any rope scaling).
void rope(Context& ctx, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq);

// Causal grouped-query attention per sequence: q [T, Hq, D], k/v [T, Hkv, D],
// out [T, Hq, D]. sliding_window > 0 restricts each query to the last
// `sliding_window` keys (itself included).
void attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               std::span<const int64_t> seq_lens, float scale, int64_t sliding_window, Tensor& out);

enum class Activation { Silu, GeluTanh };
// out = act(gate) * up, elementwise; out may alias gate.
void gated_activation(Context& ctx, const Tensor& gate, const Tensor& up, Activation act, Tensor& out);

// out[i, :] = table[ids[i], :] * scale.
void embedding(Context& ctx, const Tensor& table, std::span<const int32_t> ids, float scale, Tensor& out);

// y += x (same shape).
void add_inplace(Context& ctx, Tensor& y, const Tensor& x);

// Per-row negative log-likelihood of targets under logits [rows, V]:
// nll[i] = logsumexp(logits[i]) - logits[i, targets[i]]; the exponentials are
// fp32 (a few ulp each), their sum is accumulated in fp64, so nll is exact to
// ~2e-7 absolute. nll has `rows` entries.
void cross_entropy(Context& ctx, const Tensor& logits, std::span<const int32_t> targets, std::span<double> nll);

}  // namespace maca::backend
