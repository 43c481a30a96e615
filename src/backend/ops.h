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
#include "kernels/shared/grid_params.h"
#include "kernels/shared/snrq_rows.h"

namespace maca::backend {

// y[M,N] = x[M,K] · w[N,K]ᵀ (+ bias[N] when defined). The weight layout is the
// PyTorch nn.Linear one. The rows are the sequences of `seq_lens` (empty: one
// sequence): every output row depends only on its own sequence's rows and its
// position there, never on the other sequences in the call or on the thread
// count, so a sequence gives the same bits in any batch, on any rank.
void linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias, std::span<const int64_t> seq_lens,
            Tensor& y);
inline void linear(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  linear(ctx, x, w, bias, {}, y);
}

// General single-precision GEMM on raw row-major buffers:
// C[M,N] = alpha · op(A) · op(B) + beta · C.
void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The same in double precision (Hessian statistics, GPTQ's lazy updates).
void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// Gram update (BLAS syrk) on raw row-major buffers: c = alpha · xᵀx + beta · c
// for x [k, n]; only the upper triangle of c [n, n] (column >= row) is written.
void gram_update(Context& ctx, int64_t n, int64_t k, float alpha, const float* x, int64_t ldx, float beta, float* c,
                 int64_t ldc);
void gram_update(Context& ctx, int64_t n, int64_t k, double alpha, const double* x, int64_t ldx, double beta, double* c,
                 int64_t ldc);

// Dense symmetric positive-definite linear algebra (LAPACK potrf/potri/potrs)
// on a row-major a [n, n]. Only one triangle of the input is read.
//
// cholesky: a = L·Lᵀ (upper = false: L in the lower triangle) or a = Uᵀ·U
// (upper = true: U in the upper triangle); the other triangle is set to 0.
// Returns false, leaving a overwritten, when a is not positive definite.
bool cholesky(Context& ctx, int64_t n, double* a, int64_t lda, bool upper);
// l [n, n] ← L⁻¹ in place for a row-major lower-triangular L (e.g. a factor
// from cholesky(…, false)); the result is lower triangular, or with
// `reversed` rotated by 180° (X[i][j] = L⁻¹[n−1−i][n−1−j], upper
// triangular). Parallel over fixed column blocks: the same bits for any
// thread count. On the CPU no n × n copy is made.
void triangular_inverse(Context& ctx, int64_t n, double* l, int64_t ldl, bool reversed);
// b [m, n] ← b · A⁻¹ where `factor` holds A's factor from cholesky(…, upper),
// solved in tiles of 32 rows of b counted from row 0 (a row's bits depend only
// on its tile, as in gemm_row_tiles).
void cholesky_solve(Context& ctx, int64_t n, int64_t m, const double* factor, int64_t ldf, bool upper, double* b,
                    int64_t ldb);

// Row-tiled GEMM for the rounders: C[r, :] = alpha·A[r, :]·B + beta·C[r, :]
// (A [m, k], B [k, n], C [m, n] row-major f64, leading dimensions lda, ldb,
// ldc), one GEMM per tile of `tile` rows counted from row 0, so a row's bits
// depend only on its tile (and the call's n, k), never on m: a layer's rows
// round the same on any rank split that keeps tiles whole.
void gemm_row_tiles(Context& ctx, int64_t tile, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                    int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

// y[i] += alpha · x[i] for i < n (f64; the product rounded before the sum, no
// fused multiply-add, so both backends give the same bits).
void axpy(Context& ctx, int64_t n, double alpha, const double* x, double* y);

// out[r, i] = in[r·ldi + index[i]] for r < rows, i < cols (f64; out has
// leading dimension ldo; index is host memory): a column permutation or a
// column range of a row-major block; ldi may be negative (rows read from the
// last to the first, with `in` pointing at the first row read).
void gather_columns(Context& ctx, int64_t rows, std::span<const int32_t> index, const double* in, int64_t ldi,
                    double* out, int64_t ldo);

// Scale and zero of each row of one column group (kernels/shared/grid_params.h):
// row r's values are x[r·ld .. r·ld + len); its results go to scale[r], zero[r].
struct GroupParams {
  grid::GridSpec spec;
  const double* x;
  int64_t rows, len, ld;
  float* scale;
  int32_t* zero;
};
void group_params(Context& ctx, const GroupParams& a);

// Round to nearest on fixed group parameters (RTN): per row r,
// codes[r, j] = quantize_code(x[r, j], s, z) with s = scales[grp[j]·ldp + r],
// z = zeros[grp[j]·ldp + r], and loss[r] = Σ_j (x[r, j] − s·(codes[r, j] − z))²
// in column order (kernels/shared/grid_params.h, round_row: both backends
// give the same bits). x has leading dimension ld; codes [rows, n].
struct GridRound {
  const double* x;
  int64_t rows, n, ld;
  const float* scales;
  const int32_t* zeros;
  int64_t ldp;
  const int32_t* grp;  // [n]
  int maxq;
  uint8_t* codes;
  double* loss;  // [rows]
};
void grid_round(Context& ctx, const GridRound& a);

// GPTQ's column loop (algorithms.md §2 step 5) over one block w [rows, ncols]
// (leading dimension ldw), rows independent. For each column j in [c0, c1), in
// order, with s = scales[grp[j]·ldp + r], z = zeros[grp[j]·ldp + r]:
//   codes[r, j] = clamp(nearbyint(w[r, j] / s) + z, 0, maxq)
//   e = (w[r, j] − s·(codes[r, j] − z)) / hinv[j, j];  err[r, j] = e;
//   loss[r] += e² / 2;  w[r, j+1 : ncols] −= e · hinv[j, j+1 : ncols].
// hinv is the block's part of the upper Cholesky factor of H⁻¹ (leading
// dimension ldh); scales/zeros are [n_groups, ldp].
struct GptqColumns {
  double* w;
  int64_t rows, ncols, ldw;
  const double* hinv;
  int64_t ldh;
  const float* scales;  // group j of row r at [j·ldp + r]
  const int32_t* zeros;
  int64_t ldp;
  const int32_t* grp;  // [ncols] group of each block column
  int maxq;
  uint8_t* codes;  // [rows, ldc]
  int64_t ldc;
  double* err;  // [rows, lde]
  int64_t lde;
  double* loss;  // [rows]
};
void gptq_columns(Context& ctx, const GptqColumns& a, int64_t c0, int64_t c1);

// SNRQ's decoding (algorithms.md §4), rows independent; the arguments and
// the per-row work are in kernels/shared/snrq_rows.h, which both backends
// run, so they agree bit for bit. snrq_block: one block [i1, i2) of
// successive rounding (greedy or the bounded search), all pointers on the
// device. snrq_descent: the coordinate-descent passes after decoding.
// snrq_alpha_terms: the closed-form α's per-row terms.
void snrq_block(Context& ctx, const snrq::Block& a);
void snrq_descent(Context& ctx, const snrq::Descent& a);
void snrq_alpha_terms(Context& ctx, const snrq::AlphaTerms& a);

// The rows of one calibration unit prepared for its statistics products
// (hessian/accumulator.h): xq[r, :] = √w[r]·x[r, :] and, when x_fp is given,
// dx[r, :] = α·√w[r]·(x_fp[r, :] − x[r, :]), in f64 or f32 (each product and
// difference in that type, √w[r] in double then rounded). x, x_fp: [rows, n]
// f32 and xq, dx: [rows, n] of the chosen type, on the context's device; w:
// host weights.
struct WeightedRows {
  const float* x;
  const float* x_fp;  // null: no dx
  std::span<const float> w;
  double alpha;
  int64_t rows, n;
  bool f64;
  void* xq;
  void* dx;
};
void weighted_rows(Context& ctx, const WeightedRows& a);

// words += the fixed-point form (kernels/shared/fixed_point.h) of aᵀ·b for
// a, b [rows, n] (f64 or f32, on the device; the products are formed in that
// type), tile by tile in the layout of fixed_point::tile_offset; symmetric
// (a is b): only the upper tiles, and in diagonal tiles only j >= i. Each
// value's bits depend only on a and b, never on threads. Returns false when a
// value is not finite or beyond fixed_point::kMaxAbs (the words are then
// partly updated: callers throw).
struct GramFixedPoint {
  const void* a;
  const void* b;
  bool f64;
  int64_t rows, n;
  bool symmetric;
  int64_t* words;
};
bool gram_fixed_point(Context& ctx, const GramFixedPoint& g);

// y = x / rms(x) * (w or 1 + w) over the last dimension (x is [rows, d]).
// unit_offset selects Gemma's (1 + w) convention. y may alias x.
void rmsnorm(Context& ctx, const Tensor& x, const Tensor& w, float eps, bool unit_offset, Tensor& y);

// Rotary embedding (HF "rotate_half" layout) applied in place to x
// [tokens, heads, head_dim]; sequence i's rows are at positions start[i],
// start[i] + 1, … (start empty: every sequence starts at 0). inv_freq has
// head_dim/2 entries (already including any rope scaling).
void rope(Context& ctx, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq,
          std::span<const int64_t> start = {});

// Causal grouped-query attention per sequence: q [T, Hq, D], k/v [T, Hkv, D],
// out [T, Hq, D]. sliding_window > 0 restricts each query to the last
// `sliding_window` keys (itself included).
void attention(Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v, std::span<const int64_t> seq_lens,
               float scale, int64_t sliding_window, Tensor& out);

// One sequence of attention_cached: its keys/values are rows [0, k_len) of
// cache slot `slot`, at positions k_pos, k_pos + 1, …; its q_len queries are
// the newest of those positions (the last q_len keys are their own).
struct CachedSeq {
  int64_t slot, q_len, k_len, k_pos;
};
// The same attention against a KV cache: q [sum(q_len), Hq, D] packed in the
// order of `seqs`, k_cache/v_cache [slots, capacity, Hkv, D], out like q.
// A query sees exactly what attention() would show it at that position (the
// cache must hold every key the causal/sliding mask lets it see), with the
// same arithmetic per query tile.
void attention_cached(Context& ctx, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const CachedSeq> seqs, float scale, int64_t sliding_window, Tensor& out);

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
