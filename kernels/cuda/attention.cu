// Causal grouped-query attention, flash style: no score matrix is stored.
//
// One thread block (kWarps warps) per (query tile of a sequence, group of
// query heads sharing a kv head): its kWarps · R rows are the tile's queries
// times the group's heads (kernels/shared/attention_mask.h picks the shape;
// packing the heads keeps a decoding block busy). The block's queries sit in
// shared memory. It walks the keys the tile can see, [first visible key of its
// first query, its last query], in tiles of kKeys = 32 keys at positions
// [32·n, 32·n + 32), staged in shared memory (K rows padded to d + 1 floats:
// lane j reads key j's row without bank conflicts). Each warp owns R rows;
// per key tile lane j computes the scores of key j against the warp's R
// queries (fp32 dot products in the order of the dimensions), the mask gives
// -inf to the keys a query does not see, and an online softmax keeps per row a
// running max m, a running sum l (a partial per lane, summed at the end) and
// an accumulator acc[d] (lane c holds dimensions c, c + 32, …):
// acc = acc·e^(m_old − m) + Σ_j p_j·V_j, in key order. A warp skips a key tile
// that none of its rows sees; a row leaves its state alone on a tile where it
// sees no key.
//
// No atomics; every output element is written once, by one thread. A row's
// operations depend only on its query, the keys it sees and their positions
// (not on the other rows of its block, nor on where its tile starts), so a
// sequence gives the same bits alone or in any batch, and attention_cached the
// same bits as attention at the same positions.
//
// Both entry points run the same kernel: a sequence is a shared::AttentionSeq
// (query rows and positions, the element offset and position of its first
// key), so packed sequences and KV-cache slots differ only in those numbers.
#include <climits>
#include <cmath>
#include <span>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"
#include "kernels/shared/attention_mask.h"

namespace maca::kernels::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kKeys = shared::kAttentionKeyTile;  // keys per shared-memory tile: one per lane when scoring
constexpr int kMaxHeadDim = 256;

// Query rows per warp for head_dim ≤ 32·dc: fewer rows for the largest heads
// keep the accumulators (R·dc floats per thread) and shared memory in bounds.
constexpr int rows_per_warp(int dc) { return dc <= 4 ? 8 : 4; }

struct Params {
  const float* q;
  const float* k;
  const float* v;
  float* out;
  const shared::AttentionTile* tiles;
  int64_t q_stride, kv_stride;  // floats from one row of q/out (k/v) to the next
  int64_t heads, group;         // query heads per block; query heads per kv head
  int64_t window;               // 0: none
  int d;
  float scale;
};

// Shared memory of a block: queries [kWarps·R, d], K [kKeys, d + 1],
// V [kKeys, d], probabilities [kWarps·R, kKeys]. With d % 4 == 0 the query
// rows and the probability rows start 16-byte aligned (float4 reads).
constexpr size_t smem_floats(int r, int d) {
  return static_cast<size_t>(kWarps * r * d + kKeys * (d + 1) + kKeys * d + kWarps * r * kKeys);
}

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

// Butterfly sum: every lane ends with the same bits (each step adds the same
// two values, in either order).
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// DC = ceil(d / 32) accumulator slots per lane and row, R rows per warp.
// Three resident blocks per SM bound the registers at 168 per thread, which
// every instantiation fits without spilling (ptxas's own choice, without the
// bound, spills some).
template <int DC, int R>
__global__ void __launch_bounds__(kThreads, 3) attention_kernel(const Params p) {
  extern __shared__ float4 smem4[];
  constexpr int kRows = kWarps * R;
  const int d = p.d;
  float* const qs = reinterpret_cast<float*>(smem4);
  float* const ks = qs + kRows * d;
  float* const vs = ks + kKeys * (d + 1);
  float* const ps = vs + kKeys * d;

  const shared::AttentionTile t = p.tiles[blockIdx.x];
  const int warp = static_cast<int>(threadIdx.x) >> 5, lane = static_cast<int>(threadIdx.x) & 31;
  const int64_t head0 = static_cast<int64_t>(blockIdx.y) * p.heads;
  const int64_t kv_head = head0 / p.group;
  const int64_t used = t.rows * p.heads;  // the block's rows that hold a query

  for (int r = warp; r < kRows; r += kWarps) {
    float* const dst = qs + r * d;
    if (r < used) {
      const float* src = p.q + (t.q_row + shared::attention_row_query(r, p.heads)) * p.q_stride +
                         (head0 + shared::attention_row_head(r, p.heads)) * d;
      for (int c = lane; c < d; c += 32) dst[c] = src[c];
    } else {
      for (int c = lane; c < d; c += 32) dst[c] = 0.0f;
    }
  }

  // The keys the block sees, and those this warp's rows [row0, row0 + R) see.
  const shared::AttentionKeyRange keys = shared::attention_rows_keys(t, 0, used, p.heads, p.window);
  const int row0 = warp * R;
  const bool warp_used = row0 < used;
  const shared::AttentionKeyRange warp_keys =
      shared::attention_rows_keys(t, row0, row0 + R < used ? row0 + R : used, p.heads, p.window);

  int query[R];  // tile query of each of this warp's rows (meaningless beyond `used`)
  float m[R], l[R], acc[R][DC];
#pragma unroll
  for (int j = 0; j < R; ++j) {
    query[j] = static_cast<int>(shared::attention_row_query(row0 + j, p.heads));
    m[j] = -INFINITY;
    l[j] = 0.0f;
#pragma unroll
    for (int c = 0; c < DC; ++c) acc[j][c] = 0.0f;
  }

  const float* const kbase = p.k + t.k_off + kv_head * d;
  const float* const vbase = p.v + t.k_off + kv_head * d;
  const float* const krow = ks + lane * (d + 1);  // the key this lane scores
  float* const prow = ps + row0 * kKeys;          // this warp's probabilities [R, kKeys]

  for (int64_t k0 = shared::attention_first_key_tile(keys.first); k0 <= keys.last; k0 += kKeys) {
    __syncthreads();  // every warp is done with the previous tile
    for (int j = warp; j < kKeys; j += kWarps) {
      float* const kd = ks + j * (d + 1);
      float* const vd = vs + j * d;
      if (k0 + j >= keys.first && k0 + j <= keys.last) {
        const int64_t off = (k0 + j - t.k_pos) * p.kv_stride;
        for (int c = lane; c < d; c += 32) {
          kd[c] = kbase[off + c];
          vd[c] = vbase[off + c];
        }
      } else {
        for (int c = lane; c < d; c += 32) {
          kd[c] = 0.0f;
          vd[c] = 0.0f;
        }
      }
    }
    __syncthreads();
    if (!warp_used || !shared::attention_keys_overlap(warp_keys, k0, kKeys)) continue;

    // Scores of key `lane` against the warp's rows. The dimension loop stays
    // rolled: R rows of 4 fmas per step are enough in flight, and unrolled the
    // R = 8 kernels spill.
    float s[R];
#pragma unroll
    for (int j = 0; j < R; ++j) s[j] = 0.0f;
#pragma unroll 1
    for (int c = 0; c < d; c += 4) {
      const float k_0 = krow[c], k_1 = krow[c + 1], k_2 = krow[c + 2], k_3 = krow[c + 3];
#pragma unroll
      for (int j = 0; j < R; ++j) {
        const float4 qv = *reinterpret_cast<const float4*>(qs + (row0 + j) * d + c);
        s[j] = fmaf(qv.x, k_0, s[j]);
        s[j] = fmaf(qv.y, k_1, s[j]);
        s[j] = fmaf(qv.z, k_2, s[j]);
        s[j] = fmaf(qv.w, k_3, s[j]);
      }
    }

    // Rows that see no key of this tile leave m, l and acc untouched (`seen`
    // is the same for the whole warp).
    const int64_t key_pos = k0 + lane;
    bool seen[R];
#pragma unroll
    for (int j = 0; j < R; ++j) {
      float pj = 0.0f;
      seen[j] = false;
      if (row0 + j < used) {
        const bool visible = shared::attention_visible(t.q_pos + query[j], key_pos, t.k_pos, p.window);
        const float sj = visible ? s[j] * p.scale : -INFINITY;
        const float tile_max = warp_max(sj);
        seen[j] = tile_max != -INFINITY;
        if (seen[j]) {
          const float m_new = fmaxf(m[j], tile_max);
          const float alpha = expf(m[j] - m_new);  // 0 for the first tile seen (m = -inf)
          if (visible) pj = expf(sj - m_new);
          l[j] = l[j] * alpha + pj;
#pragma unroll
          for (int c = 0; c < DC; ++c) acc[j][c] *= alpha;
          m[j] = m_new;
        }
      }
      prow[j * kKeys + lane] = pj;
    }
    __syncwarp();

    for (int j4 = 0; j4 < kKeys; j4 += 4) {  // keys j4 … j4 + 3, in order
      float vv[4][DC];
#pragma unroll
      for (int u = 0; u < 4; ++u)
#pragma unroll
        for (int c = 0; c < DC; ++c) {
          const int col = lane + 32 * c;
          vv[u][c] = col < d ? vs[(j4 + u) * d + col] : 0.0f;
        }
#pragma unroll
      for (int j = 0; j < R; ++j) {
        if (!seen[j]) continue;
        const float4 pj = *reinterpret_cast<const float4*>(prow + j * kKeys + j4);
#pragma unroll
        for (int c = 0; c < DC; ++c) {
          acc[j][c] = fmaf(pj.x, vv[0][c], acc[j][c]);
          acc[j][c] = fmaf(pj.y, vv[1][c], acc[j][c]);
          acc[j][c] = fmaf(pj.z, vv[2][c], acc[j][c]);
          acc[j][c] = fmaf(pj.w, vv[3][c], acc[j][c]);
        }
      }
    }
  }

#pragma unroll
  for (int j = 0; j < R; ++j) {
    const int r = row0 + j;
    if (r >= used) continue;  // the same for the whole warp
    const float inv = 1.0f / warp_sum(l[j]);
    float* const dst = p.out + (t.q_row + shared::attention_row_query(r, p.heads)) * p.q_stride +
                       (head0 + shared::attention_row_head(r, p.heads)) * d;
#pragma unroll
    for (int c = 0; c < DC; ++c) {
      const int col = lane + 32 * c;
      if (col < d) dst[col] = acc[j][c] * inv;
    }
  }
}

template <int DC>
void launch(CudaContext& cc, Params p, std::span<const shared::AttentionSeq> seqs, int64_t hq) {
  constexpr int R = rows_per_warp(DC);
  const shared::AttentionBlockShape shape = shared::attention_block_shape(p.group, kWarps * R);
  const std::vector<shared::AttentionTile> tiles = shared::attention_tiles(seqs, shape.tile_q);
  if (tiles.empty()) return;
  MACA_CUDA_REQUIRE(tiles.size() <= static_cast<size_t>(INT_MAX), "attention: more query tiles than a grid holds");
  MACA_CUDA_REQUIRE(hq / shape.heads <= 65535, "attention: more head groups than a grid holds");
  const size_t smem = smem_floats(R, p.d) * sizeof(float);
  int smem_max = 0;
  MACA_CUDA_CHECK(cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, cc.device().index));
  MACA_CUDA_REQUIRE(smem <= static_cast<size_t>(smem_max),
                    "attention: this GPU's shared memory per block is too small for the head dimension");
  MACA_CUDA_CHECK(cudaFuncSetAttribute(attention_kernel<DC, R>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(smem)));
  const DeviceArray<shared::AttentionTile> dev_tiles(cc, std::span<const shared::AttentionTile>(tiles));
  p.tiles = dev_tiles.get();
  p.heads = shape.heads;
  const dim3 grid(static_cast<unsigned>(tiles.size()), static_cast<unsigned>(hq / shape.heads));
  attention_kernel<DC, R><<<grid, kThreads, smem, cc.cuda_stream()>>>(p);
  MACA_CUDA_CHECK_LAUNCH();
}

void run(backend::Context& ctx, const Tensor& q, const float* k, const float* v, int64_t hkv,
         std::span<const shared::AttentionSeq> seqs, float scale, int64_t sliding_window, Tensor& out) {
  CudaContext& cc = cuda_context(ctx);
  const int64_t hq = q.dim(1), d = q.dim(2);
  MACA_CUDA_REQUIRE(d >= 4 && d <= kMaxHeadDim && d % 4 == 0,
                    "attention: head_dim must be a multiple of 4 between 4 and 256");
  Params p{};
  p.q = static_cast<const float*>(q.raw());
  p.k = k;
  p.v = v;
  p.out = static_cast<float*>(out.raw());
  p.q_stride = hq * d;
  p.kv_stride = hkv * d;
  p.group = hq / hkv;
  p.window = sliding_window > 0 ? sliding_window : 0;
  p.d = static_cast<int>(d);
  p.scale = scale;
  switch ((d + 31) / 32) {
    case 1:
      launch<1>(cc, p, seqs, hq);
      break;
    case 2:
      launch<2>(cc, p, seqs, hq);
      break;
    case 3:
      launch<3>(cc, p, seqs, hq);
      break;
    case 4:
      launch<4>(cc, p, seqs, hq);
      break;
    case 5:
      launch<5>(cc, p, seqs, hq);
      break;
    case 6:
      launch<6>(cc, p, seqs, hq);
      break;
    case 7:
      launch<7>(cc, p, seqs, hq);
      break;
    default:
      launch<8>(cc, p, seqs, hq);
      break;
  }
}

}  // namespace

void attention(backend::Context& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
               std::span<const int64_t> seq_lens, float scale, int64_t sliding_window, Tensor& out) {
  MACA_CUDA_REQUIRE(
      q.dtype() == DType::F32 && k.dtype() == DType::F32 && v.dtype() == DType::F32 && out.dtype() == DType::F32,
      "attention: q, k, v and out must be f32");
  MACA_CUDA_REQUIRE(q.ndim() == 3 && k.ndim() == 3 && v.shape() == k.shape() && out.shape() == q.shape(),
                    "attention: q and out must be [T, Hq, D], k and v [T, Hkv, D]");
  const int64_t tokens = q.dim(0), hq = q.dim(1), d = q.dim(2), hkv = k.dim(1);
  MACA_CUDA_REQUIRE(k.dim(0) == tokens && k.dim(2) == d && hkv > 0 && hq % hkv == 0,
                    "attention: k/v must have q's tokens and head_dim, and Hkv must divide Hq");
  std::vector<shared::AttentionSeq> seqs;
  seqs.reserve(seq_lens.size());
  int64_t offset = 0;
  for (const int64_t n : seq_lens) {
    MACA_CUDA_REQUIRE(n >= 0, "attention: negative sequence length");
    seqs.push_back({.q_row = offset, .q_len = n, .q_pos = 0, .k_off = offset * hkv * d, .k_pos = 0});
    offset += n;
  }
  MACA_CUDA_REQUIRE(offset == tokens, "attention: seq_lens must sum to the number of tokens");
  run(ctx, q, static_cast<const float*>(k.raw()), static_cast<const float*>(v.raw()), hkv, seqs, scale, sliding_window,
      out);
}

void attention_cached(backend::Context& ctx, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const backend::CachedSeq> seqs, float scale, int64_t sliding_window, Tensor& out) {
  MACA_CUDA_REQUIRE(q.dtype() == DType::F32 && k_cache.dtype() == DType::F32 && v_cache.dtype() == DType::F32 &&
                        out.dtype() == DType::F32,
                    "attention_cached: q, k_cache, v_cache and out must be f32");
  MACA_CUDA_REQUIRE(
      q.ndim() == 3 && k_cache.ndim() == 4 && v_cache.shape() == k_cache.shape() && out.shape() == q.shape(),
      "attention_cached: q and out must be [T, Hq, D], k_cache and v_cache [slots, capacity, Hkv, D]");
  const int64_t hq = q.dim(1), d = q.dim(2), slots = k_cache.dim(0), cap = k_cache.dim(1), hkv = k_cache.dim(2);
  MACA_CUDA_REQUIRE(k_cache.dim(3) == d && hkv > 0 && hq % hkv == 0,
                    "attention_cached: the cache must have q's head_dim, and Hkv must divide Hq");
  const int64_t slot_stride = cap * hkv * d;
  std::vector<shared::AttentionSeq> views;
  views.reserve(seqs.size());
  int64_t offset = 0;
  for (const backend::CachedSeq& s : seqs) {
    MACA_CUDA_REQUIRE(
        s.slot >= 0 && s.slot < slots && s.q_len >= 1 && s.q_len <= s.k_len && s.k_len <= cap && s.k_pos >= 0,
        "attention_cached: a sequence needs a valid slot and 1 <= q_len <= k_len <= capacity");
    views.push_back({.q_row = offset,
                     .q_len = s.q_len,
                     .q_pos = s.k_pos + s.k_len - s.q_len,
                     .k_off = s.slot * slot_stride,
                     .k_pos = s.k_pos});
    offset += s.q_len;
  }
  MACA_CUDA_REQUIRE(offset == q.dim(0), "attention_cached: the sequences' q_len must sum to q's rows");
  run(ctx, q, static_cast<const float*>(k_cache.raw()), static_cast<const float*>(v_cache.raw()), hkv, views, scale,
      sliding_window, out);
}

}  // namespace maca::kernels::cuda
