// Causal grouped-query attention on the CPU, tiled over queries.
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
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/fast_exp.h"

namespace maca::kernels::cpu {
namespace {

// Exponentiates row [lo, hi] in place after subtracting its max, zeroes the
// rest of the `n` entries, and scales the kept ones to sum to 1.
void masked_softmax(float* row, int64_t n, int64_t lo, int64_t hi) {
  std::fill(row, row + lo, 0.0f);
  std::fill(row + hi + 1, row + n, 0.0f);
  float mx = row[lo];
  for (int64_t j = lo + 1; j <= hi; ++j) mx = std::max(mx, row[j]);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = lo; j <= hi; ++j) {
    row[j] = fast_expf(row[j] - mx);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = lo; j <= hi; ++j) row[j] *= inv;
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, std::span<const int64_t> seq_lens, float scale,
               int64_t sliding_window, Tensor& out) {
  MACA_ASSERT(q.ndim() == 3 && k.ndim() == 3 && v.ndim() == 3 && out.shape() == q.shape(),
              "attention: q {} k {} v {} out {}", q.str(), k.str(), v.str(), out.str());
  const int64_t tokens = q.dim(0), hq = q.dim(1), d = q.dim(2), hkv = k.dim(1);
  MACA_ASSERT(k.dim(0) == tokens && k.dim(2) == d && v.shape() == k.shape() && hkv > 0 && hq % hkv == 0,
              "attention: q {} k {} v {}", q.str(), k.str(), v.str());
  const int64_t group = hq / hkv;
  // Query rows per tile per head: about 256 packed rows per sgemm.
  const int64_t tile = std::clamp<int64_t>(256 / group, 16, 128);
  const int64_t window = sliding_window > 0 ? sliding_window : 0;

  int64_t max_len = 0;
  for (int64_t n : seq_lens) max_len = std::max(max_len, n);
  const int64_t max_keys = window > 0 ? std::min(max_len, tile + window - 1) : max_len;

  // Tasks (sequence, kv head, query tile): independent, each with its own
  // single-threaded sgemm calls, so the result does not depend on the threads.
  struct Task {
    int64_t offset, h, i0, rows;
  };
  std::vector<Task> tasks;
  int64_t offset = 0;
  for (const int64_t n : seq_lens) {
    for (int64_t h = 0; h < hkv; ++h)
      for (int64_t i0 = 0; i0 < n; i0 += tile) tasks.push_back({offset, h, i0, std::min(tile, n - i0)});
    offset += n;
  }
  MACA_ASSERT(offset == tokens, "attention: seq_lens sum {} != tokens {}", offset, tokens);

  const float* qp = q.data<float>();
  const float* kp = k.data<float>();
  const float* vp = v.data<float>();
  float* op = out.data<float>();
  const int64_t q_stride = hq * d, kv_stride = hkv * d;
#pragma omp parallel if (tasks.size() > 1)
  {
    std::vector<float> qbuf(group * tile * d), scores(group * tile * max_keys), obuf(group * tile * d);
#pragma omp for schedule(dynamic)
    for (size_t t = 0; t < tasks.size(); ++t) {
      const auto [seq, h, i0, rows] = tasks[t];
      const int64_t m = group * rows;
      const int64_t k0 = window > 0 ? std::max<int64_t>(0, i0 - window + 1) : 0;
      const int64_t nk = i0 + rows - k0;
      for (int64_t g = 0; g < group; ++g)
        for (int64_t r = 0; r < rows; ++r)
          std::copy_n(qp + (seq + i0 + r) * q_stride + (h * group + g) * d, d, qbuf.data() + (g * rows + r) * d);

      const float* kt = kp + (seq + k0) * kv_stride + h * d;
      const float* vt = vp + (seq + k0) * kv_stride + h * d;
      gemm(false, true, m, nk, d, scale, qbuf.data(), d, kt, kv_stride, 0.0f, scores.data(), nk);
      for (int64_t row = 0; row < m; ++row) {
        const int64_t i = i0 + row % rows;  // query position in the sequence
        const int64_t lo = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
        masked_softmax(scores.data() + row * nk, nk, lo - k0, i - k0);
      }
      gemm(false, false, m, d, nk, 1.0f, scores.data(), nk, vt, kv_stride, 0.0f, obuf.data(), d);

      for (int64_t g = 0; g < group; ++g)
        for (int64_t r = 0; r < rows; ++r)
          std::copy_n(obuf.data() + (g * rows + r) * d, d, op + (seq + i0 + r) * q_stride + (h * group + g) * d);
    }
  }
}

}  // namespace maca::kernels::cpu
