// K-SNRQ (algorithms.md §4): SNRQ's preparation (snrq.h) with a bounded
// search instead of the greedy decoder. Per row, the K best partial decodings
// (beams) are kept; at each column every beam expands to the grid levels
// around its conditional target, scored exactly by S_b + d_j²·(c_b − level)²,
// and the best K of all expansions survive (ties: lower beam, then lower
// level). Beams stay sorted, so beam 0 is the best at the end. Only the
// 2K + 1 levels nearest c_b can be among a beam's K best, so only those are
// scored; that gives the same choice as expanding every level.
//
// The decoder itself is the snrq_block op (kernels/shared/snrq_rows.h has
// the per-row search both backends run).
//
// Memory: a tile of nr rows holds, per beam, the residual path t − q (8 bytes
// per column, the tail GEMM's input) and the code path (1 byte), the tail
// correction (8 bytes per block column), and per row being decoded the block
// state and the inherited tails (snrq::beam_scratch_bytes, K·(9·n + 18·bs + 40)
// rounded up to 8 bytes):
//   tile_bytes(nr) = nr·K·(9·n + 8·bs) + scratch
// On the CPU one row of a tile is decoded at a time: the plan takes the
// largest nr in {32, 16, ..., 1} with tile_bytes(nr) ≤ quant.ksnrq.memory_mb
// and runs as many tiles at once as the budget (and the threads) allow. nr
// divides kRowTile, so a rank's row slice tiles the same way as the whole
// layer. On a GPU every row of a chunk is decoded at once, so each row holds
// its paths, its scratch and the chunk's f64 buffers (weights, target, W·D
// before and after permuting, W·D·H_π⁻¹: 6·8·n bytes); a chunk is the most
// whole tiles whose rows fit the budget (at least one tile).
#include <algorithm>

#include <omp.h>

#include "core/error.h"
#include "kernels/shared/snrq_rows.h"
#include "quant/ksnrq_plan.h"
#include "quant/snrq.h"

namespace maca::quant {

int64_t ksnrq_tile_bytes(int64_t nr, int64_t k, int64_t n, int64_t bs) {
  return nr * k * (9 * n + 8 * bs) + static_cast<int64_t>(snrq::beam_scratch_bytes(k, std::min(bs, n), n));
}

int64_t ksnrq_device_row_bytes(int64_t k, int64_t n, int64_t bs) {
  return ksnrq_tile_bytes(1, k, n, bs) + 6 * 8 * n;
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
  p.device_rows = std::max<int64_t>(1, budget / ksnrq_device_row_bytes(k, n, bs) / p.tile_rows) * p.tile_rows;
  return p;
}

namespace {

class Ksnrq final : public Method {
 public:
  Ksnrq(const QuantOptions& grid, const SnrqOptions& opt, int64_t beam, int64_t memory_mb)
      : Method(grid), opt_(opt), beam_(beam), memory_mb_(memory_mb) {}
  const char* name() const override { return "ksnrq"; }
  Needs needs() const override { return snrq_needs(opt_); }
  PrepRequest prep_request() const override { return snrq_request(opt_); }
  double sequence_alpha(int64_t index) const override { return sample_sequence_alpha(opt_.seed, index, opt_.beta); }
  void validate(int64_t cols, const std::string& layer) const override {
    Method::validate(cols, layer);
    ksnrq_plan(beam_, cols, opt_.block_size, memory_mb_, 1, layer);
  }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const PreparedStats& prep,
                        const LayerSite& site) const override {
    const BeamPlan p = ksnrq_plan(beam_, W.dim(1), opt_.block_size, memory_mb_, omp_get_max_threads(), site.name);
    return snrq_round(ctx, W, prep, site, grid_, opt_, name(),
                      {.greedy = false, .beams = beam_, .tile_rows = p.tile_rows, .parallel = p.parallel,
                       .device_rows = p.device_rows});
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
