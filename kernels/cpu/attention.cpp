// Causal grouped-query attention on the CPU, tiled over queries; both entry
// points (packed sequences, and queries against a KV cache) run the same
// tile task, so a query sees the same arithmetic either way.
//
// For every (sequence, kv head) the queries of the heads that share that kv
// head are packed into one [group · tile, head_dim] block, so both products
// (scores = Q·Kᵀ and out = P·V) are single sgemm calls with a large M. Only the
// keys a tile can see are touched: [first visible key, last query] — the
// causal upper triangle beyond the tile and, with a sliding window, keys older
// than the window are never multiplied. Softmax is the stable one (row max
// subtracted) over each query's visible keys; masked entries are zeroed so
// the P·V product ignores them. The (sequence, kv head, query tile) tasks run
// in parallel, each with single-threaded sgemm calls.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/fast_exp.h"
#include "kernels/cpu/row_max.h"

namespace maca::kernels::cpu {
namespace {

// Exponentiates row [lo, hi] in place after subtracting its max, zeroes the
// rest of the `n` entries, and scales the kept ones to sum to 1.
void masked_softmax(float* row, int64_t n, int64_t lo, int64_t hi) {
  std::fill(row, row + lo, 0.0f);
  std::fill(row + hi + 1, row + n, 0.0f);
  const float mx = row_max(row + lo, hi + 1 - lo);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = lo; j <= hi; ++j) {
    row[j] = fast_expf(row[j] - mx);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = lo; j <= hi; ++j) row[j] *= inv;
}

// One sequence as the tasks see it: its queries are rows [q_row, q_row + q_len)
// of q/out at positions q_pos, q_pos + 1, …; its keys/values are rows of k/v
// (row stride kv_stride) starting at position k_pos; every query's own
// position is among the keys.
struct SeqView {
  int64_t q_row, q_len, q_pos;
  const float* k;
  const float* v;
  int64_t k_pos;
};

struct Shapes {
  int64_t hq, hkv, d, window;
  float scale;
};

// The query tile of one (sequence, kv head).
struct Task {
  size_t seq;
  int64_t h, i0, rows;
};

void grow(std::vector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
}

int64_t first_visible(int64_t query_pos, int64_t k_pos, int64_t window) {
  return window > 0 ? std::max(k_pos, query_pos - window + 1) : k_pos;
}

void run_tasks(const float* qp, float* op, std::span<const SeqView> seqs, const Shapes& s) {
  const int64_t group = s.hq / s.hkv, d = s.d;
  // Query rows per tile per head: about 256 packed rows per sgemm.
  const int64_t tile = std::clamp<int64_t>(256 / group, 16, 128);
  std::vector<Task> tasks;
  int64_t max_keys = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const SeqView& sv = seqs[i];
    for (int64_t i0 = 0; i0 < sv.q_len; i0 += tile) {
      const int64_t rows = std::min(tile, sv.q_len - i0), last = sv.q_pos + i0 + rows - 1;
      max_keys = std::max(max_keys, last + 1 - first_visible(sv.q_pos + i0, sv.k_pos, s.window));
      for (int64_t h = 0; h < s.hkv; ++h) tasks.push_back({i, h, i0, rows});
    }
  }
  const int64_t q_stride = s.hq * d, kv_stride = s.hkv * d;
#pragma omp parallel if (tasks.size() > 1)
  {
    // Per-thread buffers kept across calls (grown, never shrunk): fresh
    // megabyte-sized ones would be new mappings faulting on every page, for
    // every layer (core/memory.h).
    thread_local std::vector<float> qbuf, scores, obuf;
    grow(qbuf, group * tile * d);
    grow(scores, group * tile * max_keys);
    grow(obuf, group * tile * d);
#pragma omp for schedule(dynamic)
    for (size_t t = 0; t < tasks.size(); ++t) {
      const auto [seq, h, i0, rows] = tasks[t];
      const SeqView& sv = seqs[seq];
      const int64_t m = group * rows, p0 = sv.q_pos + i0;  // p0: position of the tile's first query
      const int64_t k0 = first_visible(p0, sv.k_pos, s.window);
      const int64_t nk = p0 + rows - k0;
      for (int64_t g = 0; g < group; ++g)
        for (int64_t r = 0; r < rows; ++r)
          std::copy_n(qp + (sv.q_row + i0 + r) * q_stride + (h * group + g) * d, d, qbuf.data() + (g * rows + r) * d);

      const float* kt = sv.k + (k0 - sv.k_pos) * kv_stride + h * d;
      const float* vt = sv.v + (k0 - sv.k_pos) * kv_stride + h * d;
      gemm_rm(false, true, m, nk, d, s.scale, qbuf.data(), d, kt, kv_stride, 0.0f, scores.data(), nk);
      for (int64_t row = 0; row < m; ++row) {
        const int64_t pos = p0 + row % rows;  // the query's position
        masked_softmax(scores.data() + row * nk, nk, first_visible(pos, k0, s.window) - k0, pos - k0);
      }
      gemm_rm(false, false, m, d, nk, 1.0f, scores.data(), nk, vt, kv_stride, 0.0f, obuf.data(), d);

      for (int64_t g = 0; g < group; ++g)
        for (int64_t r = 0; r < rows; ++r)
          std::copy_n(obuf.data() + (g * rows + r) * d, d, op + (sv.q_row + i0 + r) * q_stride + (h * group + g) * d);
    }
  }
}

}  // namespace

void attention(backend::Context&, const Tensor& q, const Tensor& k, const Tensor& v, std::span<const int64_t> seq_lens, float scale,
               int64_t sliding_window, Tensor& out) {
  MACA_ASSERT(q.ndim() == 3 && k.ndim() == 3 && v.ndim() == 3 && out.shape() == q.shape(),
              "attention: q {} k {} v {} out {}", q.str(), k.str(), v.str(), out.str());
  const int64_t tokens = q.dim(0), hq = q.dim(1), d = q.dim(2), hkv = k.dim(1);
  MACA_ASSERT(k.dim(0) == tokens && k.dim(2) == d && v.shape() == k.shape() && hkv > 0 && hq % hkv == 0,
              "attention: q {} k {} v {}", q.str(), k.str(), v.str());
  const float* kp = k.data<float>();
  const float* vp = v.data<float>();
  std::vector<SeqView> seqs;
  int64_t offset = 0;
  for (const int64_t n : seq_lens) {
    seqs.push_back({offset, n, 0, kp + offset * hkv * d, vp + offset * hkv * d, 0});
    offset += n;
  }
  MACA_ASSERT(offset == tokens, "attention: seq_lens sum {} != tokens {}", offset, tokens);
  run_tasks(q.data<float>(), out.data<float>(), seqs, {hq, hkv, d, sliding_window > 0 ? sliding_window : 0, scale});
}

void attention_cached(backend::Context&, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const backend::CachedSeq> seqs, float scale, int64_t sliding_window, Tensor& out) {
  MACA_ASSERT(q.ndim() == 3 && k_cache.ndim() == 4 && v_cache.shape() == k_cache.shape() && out.shape() == q.shape(),
              "attention_cached: q {} k_cache {} v_cache {} out {}", q.str(), k_cache.str(), v_cache.str(), out.str());
  const int64_t hq = q.dim(1), d = q.dim(2), slots = k_cache.dim(0), cap = k_cache.dim(1), hkv = k_cache.dim(2);
  MACA_ASSERT(k_cache.dim(3) == d && hkv > 0 && hq % hkv == 0, "attention_cached: q {} k_cache {}", q.str(),
              k_cache.str());
  const int64_t slot_stride = cap * hkv * d;
  std::vector<SeqView> views;
  int64_t offset = 0;
  for (const backend::CachedSeq& s : seqs) {
    MACA_ASSERT(s.slot >= 0 && s.slot < slots && s.q_len >= 1 && s.q_len <= s.k_len && s.k_len <= cap,
                "attention_cached: slot {} of {}, {} queries, {} keys, capacity {}", s.slot, slots, s.q_len, s.k_len,
                cap);
    const int64_t q_pos = s.k_pos + s.k_len - s.q_len;
    views.push_back({offset, s.q_len, q_pos, k_cache.data<float>() + s.slot * slot_stride,
                     v_cache.data<float>() + s.slot * slot_stride, s.k_pos});
    offset += s.q_len;
  }
  MACA_ASSERT(offset == q.dim(0), "attention_cached: {} queries in seqs, q has {}", offset, q.dim(0));
  run_tasks(q.data<float>(), out.data<float>(), views, {hq, hkv, d, sliding_window > 0 ? sliding_window : 0, scale});
}

}  // namespace maca::kernels::cpu
