// K-SNRQ (algorithms.md §4): SNRQ's preparation (snrq.h) with a bounded
// search instead of the greedy decoder. Per row, the K best partial decodings
// (beams) are kept; at each column every beam expands to the grid levels
// around its conditional target, scored exactly by S_b + d_j²·(c_b − level)²,
// and the best K of all expansions survive (ties: lower beam, then lower
// level). Beams stay sorted, so beam 0 is the best at the end. Only the
// 2K + 1 levels nearest c_b can be among a beam's K best, so only those are
// scored; that gives the same choice as expanding every level.
//
// Memory: a tile of nr rows holds, per beam, the residual path t − q (8 bytes
// per column, the tail GEMM's input) and the code path (1 byte), the tail
// correction (8 bytes per block column), and per row the reorder scratch and
// block state:
//   tile_bytes(nr) = nr·K·(9·n + 8·bs) + K·(9·n + 18·bs)
// The plan takes the largest nr in {32, 16, ..., 1} with
// tile_bytes(nr) ≤ quant.ksnrq.memory_mb and runs as many tiles at once as the
// budget (and the threads) allow. nr divides kRowTile, so a rank's row slice
// tiles the same way as the whole layer.
#include <algorithm>
#include <numeric>

#include <omp.h>

#include "core/error.h"
#include "quant/grid.h"
#include "quant/ksnrq_plan.h"
#include "quant/snrq.h"

namespace maca::quant {

int64_t ksnrq_tile_bytes(int64_t nr, int64_t k, int64_t n, int64_t bs) {
  return nr * k * (9 * n + 8 * bs) + k * (9 * n + 18 * bs);
}

BeamPlan ksnrq_plan(int64_t k, int64_t n, int64_t bs, int64_t memory_mb, int threads, const std::string& layer) {
  const int64_t budget = memory_mb << 20;
  BeamPlan p;
  for (p.tile_rows = kRowTile; p.tile_rows > 1 && ksnrq_tile_bytes(p.tile_rows, k, n, bs) > budget; p.tile_rows /= 2) {
  }
  p.tile_bytes = ksnrq_tile_bytes(p.tile_rows, k, n, bs);
  MACA_CHECK(p.tile_bytes <= budget,
             "layer {}: K-SNRQ with beam {} needs {:.1f} MB for one row of {} columns, more than "
             "quant.ksnrq.memory_mb = {}; raise quant.ksnrq.memory_mb or lower quant.ksnrq.beam",
             layer, k, static_cast<double>(p.tile_bytes) / (1 << 20), n, memory_mb);
  p.parallel = static_cast<int>(std::clamp<int64_t>(budget / p.tile_bytes, 1, std::max(1, threads)));
  return p;
}

namespace {

struct Candidate {
  double score;
  int64_t key;  // beam · levels + level
};

// Beam search over one tile.
void beam_decode(backend::Context& ctx, const SnrqTile& a, int64_t K) {
  const int64_t n = a.n, nr = a.nr, bs = a.block_size, levels = a.maxq + 1;
  std::vector<double> e(static_cast<size_t>(nr * K * n), 0.0);      // residual paths [nr][K][n]
  std::vector<uint8_t> path(static_cast<size_t>(nr * K * n), 0);    // code paths [nr][K][n]
  std::vector<double> score(static_cast<size_t>(nr * K), 0.0);
  std::vector<int64_t> active(static_cast<size_t>(nr), 1);
  std::vector<double> corr(static_cast<size_t>(nr * K * bs)), lt(static_cast<size_t>(bs * bs));
  // Per-row block state, double-buffered for the reorder after each column.
  std::vector<double> eb(static_cast<size_t>(K * bs)), eb2(eb.size()), s2(static_cast<size_t>(K));
  std::vector<uint8_t> cb(static_cast<size_t>(K * bs)), cb2(cb.size());
  std::vector<int64_t> src(static_cast<size_t>(K)), src2(src.size());
  std::vector<double> scratch_e(static_cast<size_t>(K * n));
  std::vector<uint8_t> scratch_c(static_cast<size_t>(K * n));
  std::vector<Candidate> cand;
  cand.reserve(static_cast<size_t>(K * std::min<int64_t>(levels, 2 * K + 1)));

  for (int64_t i2 = n; i2 > 0; i2 -= bs) {
    const int64_t i1 = std::max<int64_t>(i2 - bs, 0), nb = i2 - i1;
    block_lt(a.l, n, i1, nb, lt.data());
    tail_correction(ctx, e.data(), nr * K, n, a.l, n, i1, i2, corr.data());
    for (int64_t r = 0; r < nr; ++r) {
      const double* t = a.t + r * n + i1;
      double* sc = score.data() + r * K;
      int64_t m = active[r];
      for (int64_t b = 0; b < K; ++b) src[b] = b;
      for (int64_t j = nb - 1; j >= 0; --j) {
        const size_t gi = static_cast<size_t>(a.grp[i1 + j] * a.ldp + r);
        const double s = a.scales[gi], z = a.zeros[gi], d2 = a.d2[i1 + j];
        cand.clear();
        for (int64_t b = 0; b < m; ++b) {
          const double c = conditional_target(t[j], corr[(r * K + src[b]) * nb + j], eb.data() + b * bs,
                                              lt.data() + j * nb, j, nb);
          const auto q0 = static_cast<int64_t>(quantize_code(c, s, z, a.maxq));
          for (int64_t lv = std::max<int64_t>(0, q0 - K); lv <= std::min<int64_t>(a.maxq, q0 + K); ++lv) {
            const double v = s * (static_cast<double>(lv) - z);
            cand.push_back({sc[b] + d2 * (c - v) * (c - v), b * levels + lv});
          }
        }
        const int64_t keep = std::min<int64_t>(K, static_cast<int64_t>(cand.size()));
        std::partial_sort(cand.begin(), cand.begin() + keep, cand.end(), [](const Candidate& x, const Candidate& y) {
          return x.score < y.score || (x.score == y.score && x.key < y.key);
        });
        for (int64_t b = 0; b < keep; ++b) {
          const int64_t parent = cand[b].key / levels, lv = cand[b].key % levels;
          std::copy_n(eb.data() + parent * bs, nb, eb2.data() + b * bs);
          std::copy_n(cb.data() + parent * bs, nb, cb2.data() + b * bs);
          src2[b] = src[parent];
          s2[b] = cand[b].score;
          eb2[b * bs + j] = t[j] - s * (static_cast<double>(lv) - z);
          cb2[b * bs + j] = static_cast<uint8_t>(lv);
        }
        m = keep;
        std::swap(eb, eb2);
        std::swap(cb, cb2);
        std::swap(src, src2);
        std::copy_n(s2.data(), m, sc);
      }
      // The block's paths: this block's states in front of each beam's inherited tail.
      double* er = e.data() + r * K * n;
      uint8_t* pr = path.data() + r * K * n;
      std::copy_n(er, K * n, scratch_e.data());
      std::copy_n(pr, K * n, scratch_c.data());
      for (int64_t b = 0; b < m; ++b) {
        std::copy_n(scratch_e.data() + src[b] * n + i2, n - i2, er + b * n + i2);
        std::copy_n(scratch_c.data() + src[b] * n + i2, n - i2, pr + b * n + i2);
        std::copy_n(eb.data() + b * bs, nb, er + b * n + i1);
        std::copy_n(cb.data() + b * bs, nb, pr + b * n + i1);
      }
      active[r] = m;
    }
  }
  for (int64_t r = 0; r < nr; ++r) {
    std::copy_n(path.data() + r * K * n, n, a.codes + r * n);
    a.score[r] = score[r * K];
  }
}

class Ksnrq final : public Method {
 public:
  Ksnrq(const QuantOptions& grid, const SnrqOptions& opt, int64_t beam, int64_t memory_mb)
      : Method(grid), opt_(opt), beam_(beam), memory_mb_(memory_mb) {}
  const char* name() const override { return "ksnrq"; }
  Needs needs() const override { return snrq_needs(opt_); }
  double sequence_alpha(int64_t index) const override { return sample_sequence_alpha(opt_.seed, index, opt_.beta); }
  void validate(int64_t cols, const std::string& layer) const override {
    Method::validate(cols, layer);
    ksnrq_plan(beam_, cols, opt_.block_size, memory_mb_, 1, layer);
  }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const LayerStats& stats,
                        const LayerSite& site) const override {
    const BeamPlan plan = ksnrq_plan(beam_, W.dim(1), opt_.block_size, memory_mb_, omp_get_max_threads(), site.name);
    const int64_t k = beam_;
    return snrq_round(ctx, W, stats, site, grid_, opt_, name(),
                      [k](backend::Context& ctx, const SnrqTile& t) { beam_decode(ctx, t, k); }, plan.tile_rows,
                      plan.parallel);
  }

 private:
  SnrqOptions opt_;
  int64_t beam_, memory_mb_;
};

}  // namespace

extern const MethodInfo ksnrq_method{
    .name = "ksnrq",
    .help = "snrq with a bounded search over the K best partial decodings per row (quant.ksnrq.*, and quant.snrq.*)",
    .declare = [](config::Schema& s) {
      s.add({"quant.ksnrq.beam", std::int64_t{4}, "ksnrq: beams K kept per row (1 equals snrq; rounding time grows "
             "about linearly with K; a larger K usually, not always, ends with a lower layer objective)",
             config::in_range(1, 256)});
      s.add({"quant.ksnrq.memory_mb", std::int64_t{2048},
             "ksnrq: budget in MiB for the beams' paths and transients of the tiles rounded at once; rows are "
             "decoded in tiles that fit (formula in src/quant/ksnrq.cpp)",
             config::in_range(1, 1 << 24)});
    },
    .create = [](const QuantOptions& grid, const config::Config& cfg) -> std::unique_ptr<Method> {
      return std::make_unique<Ksnrq>(grid, read_snrq_options(cfg), cfg.get_int("quant.ksnrq.beam"),
                                     cfg.get_int("quant.ksnrq.memory_mb"));
    }};

}  // namespace maca::quant
