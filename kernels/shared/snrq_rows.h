// SNRQ's per-row work (algorithms.md §4; src/quant/snrq.h has the notation):
// one block of successive rounding (greedy, or the bounded search of
// K-SNRQ), the optional coordinate-descent passes, and the closed-form α's
// per-row terms. Rows are independent, so each function handles one row and
// the backends only choose how rows map to threads: the CPU kernels
// (kernels/cpu/snrq_*.cpp) loop over rows, the CUDA kernels
// (kernels/cuda/snrq_*.cu) give each row a thread. Both run these functions,
// so every value sees the same operations in the same order; the CUDA files
// are compiled with -fmad=false (kernels/CMakeLists.txt) so that nvcc fuses
// nothing into FMAs, and the results are the CPU's bit for bit (on an x86-64
// host, which contracts nothing either; see kernels/shared/gptq_step.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/shared/grid_params.h"
#include "kernels/shared/hd.h"

namespace maca::snrq {

// One block [i1, i2) of columns, decoded from the last column to the first,
// for every row of a chunk. Beam b of row r is row b·rows + r of e, path and
// corr (beam 0 of all rows comes first: after the last block it holds the
// codes and their residuals).
struct Block {
  const double* t;  // [rows, n] targets, processing order
  int64_t rows, n, i1, i2;
  const double* l;      // [n, n] lower Cholesky factor of H_π, row-major
  const double* corr;   // [beams·rows, i2 − i1] e[:, i2:]·L[i2:, i1:i2], not yet divided by L_jj; null when i2 = n
  const float* scales;  // group g of row r at [g·ldp + r]
  const int32_t* zeros;
  int64_t ldp;
  const int32_t* grp;  // [n] group of each position
  int maxq;
  bool greedy;    // the nearest level to each conditional target (beams = 1); else the bounded search
  int64_t beams;  // K
  double* e;      // [beams·rows, n] residual paths t − q
  uint8_t* path;  // [beams·rows, n] code paths
  double* score;  // [beams·rows] Σ_j L_jj²·(c_j − q_j)² so far, beams best first
  int32_t* live;  // [rows] beams alive after the block (the first block, i2 = n, starts from one); greedy: unused
};

// Coordinate descent after decoding (quant.snrq.cd_passes): per row, columns
// from the last to the first, each code replaced by the nearest level to the
// minimizer of ½·(t − q)·H_π·(t − q)ᵀ along that coordinate, q_j − g_j / H_jj
// with g = (q − t)·H_π kept exact as codes change. No step increases the
// objective; a pass that changes nothing ends the row.
struct Descent {
  const double* t;  // [rows, n] targets
  int64_t rows, n;
  const double* hp;  // [n, n] the damped H_π
  const float* scales;
  const int32_t* zeros;
  int64_t ldp;
  const int32_t* grp;
  int maxq;
  int passes;
  uint8_t* codes;  // [rows, n] in and out
  double* s;       // [rows, n] in: the decoder's residuals t − q; out: q − t
  double* g;       // [rows, n] in: −(t − q)·H_π; out: (q − t)·H_π
  double* loss;    // [rows] out: (q − t)·g, twice the row's objective
};

// Per row r: terms[2r] = Σ_i (q_i − w_i)·m_i and terms[2r + 1] = Σ_i x_i·m_i,
// with q the dequantized codes, w the (permuted) weights, m = W·D and
// x = W·D·H_π⁻¹ (permuted); α* sums them over rows (quant/snrq.cpp).
struct AlphaTerms {
  const uint8_t* codes;  // [rows, n]
  const float* scales;
  const int32_t* zeros;
  int64_t ldp;
  const int32_t* grp;
  const double* w;
  const double* m;
  const double* x;
  int64_t rows, n;
  double* terms;  // [rows, 2]
};

// c_j = t_j + corr_j + Σ_{k=j+1}^{nb−1} e_k · lt_row[k], where e holds the
// block's residuals t − q, lt_row[k] = L̃[i1+k, i1+j] and corr_j the tail's
// contribution. One summation order for both decoders, so that the beam with
// K = 1 equals the greedy decoder bit for bit.
MACA_HD inline double conditional_target(double t, double corr, const double* e, const double* lt_row, int64_t j,
                                         int64_t nb) {
  double acc = corr;
  for (int64_t k = j + 1; k < nb; ++k) acc += e[k] * lt_row[k];
  return t + acc;
}

// The block's transposed normalized factor: lt[j·nb + k] = L[i1+k, i1+j] / L[i1+j, i1+j]
// for k > j (0 elsewhere).
MACA_HD inline double block_lt(const double* l, int64_t n, int64_t i1, int64_t j, int64_t k) {
  return k > j ? l[(i1 + k) * n + i1 + j] / l[(i1 + j) * n + i1 + j] : 0.0;
}

// The tail's contribution to column j of row `row` (a row of corr).
MACA_HD inline double tail_term(const Block& a, int64_t row, int64_t j) {
  const int64_t nb = a.i2 - a.i1, c = a.i1 + j;
  return a.corr ? a.corr[row * nb + j] / a.l[c * a.n + c] : 0.0;
}

// Greedy successive rounding of row r over the block: every code the nearest
// level to its conditional target; one running score per row, in decoding
// order, as the beam keeps it.
MACA_HD inline void greedy_row(const Block& a, const double* lt, int64_t r) {
  const int64_t n = a.n, i1 = a.i1, nb = a.i2 - a.i1;
  const double* t = a.t + r * n + i1;
  double* er = a.e + r * n + i1;
  uint8_t* codes = a.path + r * n + i1;
  double score = a.i2 == n ? 0.0 : a.score[r];
  for (int64_t j = nb - 1; j >= 0; --j) {
    const int64_t gi = static_cast<int64_t>(a.grp[i1 + j]) * a.ldp + r;
    const double s = a.scales[gi], z = a.zeros[gi];
    const double ljj = a.l[(i1 + j) * n + i1 + j], d2 = ljj * ljj;
    const double c = conditional_target(t[j], tail_term(a, r, j), er, lt + j * nb, j, nb);
    const double q = grid::quantize_code(c, s, z, a.maxq);
    codes[j] = static_cast<uint8_t>(q);
    const double v = s * (q - z);
    er[j] = t[j] - v;
    score = score + d2 * (c - v) * (c - v);
  }
  a.score[r] = score;
}

// One expansion of a beam: its score and key = beam · levels + level (unique,
// so (score, key) orders candidates totally).
struct Candidate {
  double score;
  int64_t key;
};
MACA_HD inline bool before(const Candidate& x, const Candidate& y) {
  return x.score < y.score || (x.score == y.score && x.key < y.key);
}

// Puts c at position i of the max-heap h[0 .. size) whose subtrees below i
// are heaps, moving larger children up.
MACA_HD inline void sift_down(Candidate* h, int64_t size, int64_t i, Candidate c) {
  for (;;) {
    const int64_t left = 2 * i + 1, right = left + 1;
    int64_t big = i;
    Candidate v = c;
    if (left < size && before(v, h[left])) {
      big = left;
      v = h[left];
    }
    if (right < size && before(v, h[right])) big = right;
    if (big == i) break;
    h[i] = h[big];
    i = big;
  }
  h[i] = c;
}

// Keeps the `cap` first candidates offered (in the order of before()) in a
// max-heap h[0 .. size): the worst kept one at the root.
MACA_HD inline void heap_offer(Candidate* h, int64_t& size, int64_t cap, Candidate c) {
  if (size < cap) {
    int64_t i = size++;
    while (i > 0 && before(h[(i - 1) / 2], c)) {
      h[i] = h[(i - 1) / 2];
      i = (i - 1) / 2;
    }
    h[i] = c;
  } else if (before(c, h[0])) {
    sift_down(h, size, 0, c);
  }
}

// Sorts the heap h[0 .. size) into ascending order (best first).
MACA_HD inline void heap_sort(Candidate* h, int64_t size) {
  for (int64_t end = size - 1; end > 0; --end) {
    const Candidate top = h[0];
    sift_down(h, end, 0, h[end]);
    h[end] = top;
  }
}

// The bounded search's per-row state for one block, carved out of one
// allocation of beam_scratch_bytes() (every part 8-byte aligned).
struct BeamScratch {
  double* eb;       // [beams·nb] the block's residuals per beam
  double* eb2;      // double buffer for the reorder after each column
  double* s2;       // [beams]
  double* tail_e;   // [beams·(n − i2)] the inherited tails, copied before the reorder
  Candidate* heap;  // [beams]
  int64_t* src;     // [beams] ancestor of each beam at the block's start
  int64_t* src2;
  uint8_t* cb;  // [beams·nb] the block's codes per beam
  uint8_t* cb2;
  uint8_t* tail_c;  // [beams·(n − i2)]
};

MACA_HD inline size_t round_up8(size_t b) { return (b + 7) / 8 * 8; }

// Bytes of one row's BeamScratch for blocks of at most nb columns and n columns in all.
MACA_HD inline size_t beam_scratch_bytes(int64_t beams, int64_t nb, int64_t n) {
  const size_t k = static_cast<size_t>(beams);
  return k * (8 * (2 * nb + 1 + n) + sizeof(Candidate) + 2 * sizeof(int64_t)) +
         round_up8(k * static_cast<size_t>(2 * nb + n));
}

MACA_HD inline BeamScratch carve_beam_scratch(void* p, int64_t beams, int64_t nb, int64_t n) {
  auto* d = static_cast<double*>(p);
  BeamScratch s;
  s.eb = d;
  s.eb2 = d + beams * nb;
  s.s2 = d + 2 * beams * nb;
  s.tail_e = s.s2 + beams;
  s.heap = reinterpret_cast<Candidate*>(s.tail_e + beams * n);
  s.src = reinterpret_cast<int64_t*>(s.heap + beams);
  s.src2 = s.src + beams;
  s.cb = reinterpret_cast<uint8_t*>(s.src2 + beams);
  s.cb2 = s.cb + beams * nb;
  s.tail_c = s.cb2 + beams * nb;
  return s;
}

// The bounded search over row r's block (src/quant/ksnrq.cpp explains it):
// per column every live beam expands to the 2K + 1 levels nearest its
// conditional target, scored exactly by S_b + L_jj²·(c_b − level)², and the
// best K of all expansions survive in the order of before(). At the block's
// end each surviving beam's path becomes its ancestor's tail plus the block.
MACA_HD inline void beam_row(const Block& a, const double* lt, int64_t r, BeamScratch w) {
  const int64_t n = a.n, i1 = a.i1, i2 = a.i2, nb = i2 - i1, K = a.beams, levels = a.maxq + 1, rows = a.rows;
  const bool first = i2 == n;
  const double* t = a.t + r * n + i1;
  int64_t m = first ? 1 : a.live[r];
  const int64_t m0 = m;
  for (int64_t b = 0; b < K; ++b) {
    w.src[b] = b;
    w.s2[b] = first ? 0.0 : a.score[b * rows + r];
  }
  double* sc = w.s2;  // scores of the current beams
  for (int64_t j = nb - 1; j >= 0; --j) {
    const int64_t gi = static_cast<int64_t>(a.grp[i1 + j]) * a.ldp + r;
    const double s = a.scales[gi], z = a.zeros[gi];
    const double ljj = a.l[(i1 + j) * n + i1 + j], d2 = ljj * ljj;
    int64_t size = 0;
    for (int64_t b = 0; b < m; ++b) {
      const double c =
          conditional_target(t[j], tail_term(a, w.src[b] * rows + r, j), w.eb + b * nb, lt + j * nb, j, nb);
      const auto q0 = static_cast<int64_t>(grid::quantize_code(c, s, z, a.maxq));
      const int64_t lo = q0 - K < 0 ? 0 : q0 - K, hi = q0 + K > a.maxq ? a.maxq : q0 + K;
      for (int64_t lv = lo; lv <= hi; ++lv) {
        const double v = s * (static_cast<double>(lv) - z);
        heap_offer(w.heap, size, K, {sc[b] + d2 * (c - v) * (c - v), b * levels + lv});
      }
    }
    heap_sort(w.heap, size);
    for (int64_t b = 0; b < size; ++b) {
      const int64_t parent = w.heap[b].key / levels, lv = w.heap[b].key % levels;
      for (int64_t k = 0; k < nb; ++k) {
        w.eb2[b * nb + k] = w.eb[parent * nb + k];
        w.cb2[b * nb + k] = w.cb[parent * nb + k];
      }
      w.src2[b] = w.src[parent];
      w.eb2[b * nb + j] = t[j] - s * (static_cast<double>(lv) - z);
      w.cb2[b * nb + j] = static_cast<uint8_t>(lv);
    }
    for (int64_t b = 0; b < size; ++b) sc[b] = w.heap[b].score;  // every parent score was read above
    m = size;
    double* te = w.eb;
    w.eb = w.eb2;
    w.eb2 = te;
    uint8_t* tc = w.cb;
    w.cb = w.cb2;
    w.cb2 = tc;
    int64_t* ts = w.src;
    w.src = w.src2;
    w.src2 = ts;
  }
  // The block's paths: this block's states in front of each beam's inherited tail.
  const int64_t tail = n - i2;
  bool moved = false;
  for (int64_t b = 0; b < m; ++b) moved = moved || w.src[b] != b;
  if (moved)
    for (int64_t b = 0; b < m0; ++b)
      for (int64_t k = 0; k < tail; ++k) {
        w.tail_e[b * tail + k] = a.e[(b * rows + r) * n + i2 + k];
        w.tail_c[b * tail + k] = a.path[(b * rows + r) * n + i2 + k];
      }
  for (int64_t b = 0; b < m; ++b) {
    double* er = a.e + (b * rows + r) * n;
    uint8_t* pr = a.path + (b * rows + r) * n;
    if (w.src[b] != b)
      for (int64_t k = 0; k < tail; ++k) {
        er[i2 + k] = w.tail_e[w.src[b] * tail + k];
        pr[i2 + k] = w.tail_c[w.src[b] * tail + k];
      }
    for (int64_t k = 0; k < nb; ++k) {
      er[i1 + k] = w.eb[b * nb + k];
      pr[i1 + k] = w.cb[b * nb + k];
    }
    a.score[b * rows + r] = sc[b];
  }
  a.live[r] = static_cast<int32_t>(m);
}

// Coordinate descent of row r (Descent above).
MACA_HD inline void descent_row(const Descent& a, int64_t r) {
  const int64_t n = a.n;
  double* sr = a.s + r * n;
  double* gr = a.g + r * n;
  const double* t = a.t + r * n;
  uint8_t* codes = a.codes + r * n;
  for (int64_t j = 0; j < n; ++j) sr[j] = -sr[j];
  for (int pass = 0; pass < a.passes; ++pass) {
    bool changed = false;
    for (int64_t j = n - 1; j >= 0; --j) {
      const int64_t gi = static_cast<int64_t>(a.grp[j]) * a.ldp + r;
      const double sc = a.scales[gi], z = a.zeros[gi];
      const double qj = sr[j] + t[j];
      const double code = grid::quantize_code(qj - gr[j] / a.hp[j * n + j], sc, z, a.maxq);
      if (code == codes[j]) continue;
      const double delta = sc * (code - z) - qj;
      codes[j] = static_cast<uint8_t>(code);
      sr[j] += delta;
      for (int64_t k = 0; k < n; ++k) gr[k] += delta * a.hp[j * n + k];
      changed = true;
    }
    if (!changed) break;
  }
  double total = 0;
  for (int64_t j = 0; j < n; ++j) total += sr[j] * gr[j];
  a.loss[r] = total;
}

// α*'s terms of row r (AlphaTerms above).
MACA_HD inline void alpha_terms_row(const AlphaTerms& a, int64_t r) {
  const int64_t n = a.n;
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t gi = static_cast<int64_t>(a.grp[i]) * a.ldp + r;
    const double deq = a.scales[gi] * (static_cast<double>(a.codes[r * n + i]) - a.zeros[gi]);
    num += (deq - a.w[r * n + i]) * a.m[r * n + i];
    den += a.x[r * n + i] * a.m[r * n + i];
  }
  a.terms[2 * r] = num;
  a.terms[2 * r + 1] = den;
}

}  // namespace maca::snrq
