// GPTQ's lazy-batch loop (algorithms.md §2), in double precision throughout
// (W, H⁻¹ factor, errors) so results do not depend on BLAS summation order at
// the level of rounding ties.
//
// Group parameters: g = −1 once from the whole W; static groups per original
// group up front; dynamic groups when the loop reaches a group's first
// (processing-order) column, from that group's CURRENT, already error-updated
// columns (quant.gptq.group_params = current), or, as the GPTQ reference does,
// from the columns as they were when the enclosing lazy block began
// (block_start). With dynamic groups the block width is
// rounded to a multiple of g, so a group never straddles blocks and the result
// does not depend on block_size (the lazy batch is exact in exact arithmetic).
//
// Rows are independent: the damped factors are computed once, then the rows
// are rounded in tiles of kRowTile rows (counted from the layer's first row),
// each tile with single-threaded BLAS calls, tiles spread over the threads.
// A row's bits therefore depend only on its tile, not on the thread count nor
// on which rank rounds it (ranks get tile-aligned row slices).
#include <algorithm>
#include <numeric>

#include "backend/ops.h"
#include "core/error.h"
#include "quant/grid.h"
#include "quant/gptq.h"
#include "quant/method.h"
#include "quant/methods.h"

namespace maca::quant {
namespace {

// Inputs by diag(H) descending; ties keep the original order.
std::vector<int32_t> act_order_perm(const LoadedHessian& h) {
  std::vector<int32_t> perm(static_cast<size_t>(h.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return h.at(a, a) > h.at(b, b); });
  return perm;
}

// Rounds rows [r0, r0 + nr) of the layer: w holds them ([nr, cols], original
// order; consumed), the results go to q's rows r0… (scales/zeros [n_groups,
// q.rows]); grp is the group of each processing-order column. Returns the
// rows' loss.
double round_rows(backend::Context& ctx, std::vector<double> w, int64_t r0, int64_t nr,
                  const std::vector<double>& hinv_u, const std::vector<int32_t>& grp, const QuantOptions& grid_opt,
                  const GptqOptions& opt, QuantizedLinear& q) {
  const int64_t rows = q.rows, cols = q.cols;
  const std::vector<int32_t>& perm = q.perm;
  const bool whole_row = grid_opt.group_size < 0;
  const int64_t g = whole_row ? cols : grid_opt.group_size;
  const bool dynamic = !whole_row && !opt.static_groups;
  const Grid grid{grid_opt.bits, grid_opt.sym, grid_opt.clip, grid_opt.scale_rounding};
  const int64_t n_groups = (cols + g - 1) / g;  // the last one may be shorter (partial_groups)
  float* scales = q.scales.data() + r0;
  int32_t* zeros = q.zeros.data() + r0;

  if (!dynamic)  // one group per row, or static groups of original columns
    for (int64_t j = 0; j < n_groups; ++j)
      find_params(grid, w.data() + j * g, nr, std::min(g, cols - j * g), cols, scales + j * rows, zeros + j * rows);

  std::vector<double> wp(w.size());
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t i = 0; i < cols; ++i) wp[r * cols + i] = w[r * cols + perm[i]];
  std::vector<double>().swap(w);

  const int64_t bs = dynamic ? g * std::max<int64_t>(1, opt.block_size / g) : opt.block_size;
  const bool stale = dynamic && opt.group_params == GroupParams::BlockStart;
  std::vector<double> block_start;  // stale: the block's columns as the block began
  std::vector<uint8_t> codes_p(wp.size());
  std::vector<double> err(static_cast<size_t>(nr * bs)), loss(static_cast<size_t>(nr), 0.0);
  for (int64_t i1 = 0; i1 < cols; i1 += bs) {
    const int64_t i2 = std::min(i1 + bs, cols), nb = i2 - i1;
    const backend::GptqColumns args{.w = wp.data() + i1,
                                    .rows = nr,
                                    .ncols = nb,
                                    .ldw = cols,
                                    .hinv = hinv_u.data() + i1 * cols + i1,
                                    .ldh = cols,
                                    .scales = scales,
                                    .zeros = zeros,
                                    .ldp = rows,
                                    .grp = grp.data() + i1,
                                    .maxq = grid.maxq(),
                                    .codes = codes_p.data() + i1,
                                    .ldc = cols,
                                    .err = err.data(),
                                    .lde = bs,
                                    .loss = loss.data()};
    if (stale) {
      block_start.resize(static_cast<size_t>(nr * nb));
      for (int64_t r = 0; r < nr; ++r) std::copy_n(wp.data() + r * cols + i1, nb, block_start.data() + r * nb);
    }
    if (dynamic) {
      for (int64_t c0 = 0; c0 < nb; c0 += g) {
        const int64_t j = (i1 + c0) / g, len = std::min(g, nb - c0);
        if (stale)
          find_params(grid, block_start.data() + c0, nr, len, nb, scales + j * rows, zeros + j * rows);
        else
          find_params(grid, wp.data() + i1 + c0, nr, len, cols, scales + j * rows, zeros + j * rows);
        backend::gptq_columns(ctx, args, c0, c0 + len);
      }
    } else {
      backend::gptq_columns(ctx, args, 0, nb);
    }
    if (i2 < cols)  // lazy batch: W[:, i2:] −= Err · Hinv[i1:i2, i2:]
      backend::gemm(ctx, false, false, nr, cols - i2, nb, -1.0, err.data(), bs, hinv_u.data() + i1 * cols + i2, cols,
                    1.0, wp.data() + i2, cols);
  }

  for (int64_t r = 0; r < nr; ++r)
    for (int64_t i = 0; i < cols; ++i) q.codes[(r0 + r) * cols + perm[i]] = codes_p[r * cols + i];
  return std::accumulate(loss.begin(), loss.end(), 0.0);
}

}  // namespace

GptqLayer gptq_prepare(backend::Context& ctx, const Tensor& W, const Tensor& H, const QuantOptions& grid,
                       const GptqOptions& opt, const std::string& layer, const char* method, bool want_h_factor) {
  GptqLayer l{.w = load_weight(W, layer), .h = load_hessian(H, W.dim(1), layer)};
  const int64_t rows = W.dim(0), cols = W.dim(1);
  zero_dead_inputs(l.w, l.h);

  QuantizedLinear& q = l.q;
  q = new_result(rows, cols, grid, method);
  q.act_order = opt.act_order;
  q.static_groups = opt.static_groups;
  if (opt.act_order) {
    q.perm = act_order_perm(l.h);
  } else {
    q.perm.resize(static_cast<size_t>(cols));
    std::iota(q.perm.begin(), q.perm.end(), 0);
  }
  l.factors = damped_factors(ctx, l.h, q.perm, grid, layer, {.hinv_u = true, .h_factor = want_h_factor});
  q.damp = l.factors.damp;

  const int64_t g = grid.group_size < 0 ? cols : grid.group_size;
  q.scales.resize(static_cast<size_t>((cols + g - 1) / g * rows));
  q.zeros.resize(q.scales.size());
  q.codes.resize(static_cast<size_t>(rows * cols));
  // Group of each processing-order column; g_idx is the same in input order.
  l.grp.resize(static_cast<size_t>(cols));
  const bool dynamic = grid.group_size >= 0 && !opt.static_groups;
  for (int64_t i = 0; i < cols; ++i)
    l.grp[i] = static_cast<int32_t>(grid.group_size < 0 ? 0 : dynamic ? i / g : q.perm[i] / g);
  q.g_idx.resize(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) q.g_idx[q.perm[i]] = l.grp[i];
  return l;
}

void gptq_round_tiles(backend::Context& ctx, GptqLayer& l, const QuantOptions& grid, const GptqOptions& opt,
                      const TileTransform& transform) {
  const int64_t rows = l.q.rows, cols = l.q.cols;
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  std::vector<double> tile_loss(static_cast<size_t>(tiles), 0.0);
  for_each_tile(tiles, 0, [&](int64_t t) {
    const int64_t r0 = t * kRowTile, nr = std::min(kRowTile, rows - r0);
    std::vector<double> wt(l.w.begin() + r0 * cols, l.w.begin() + (r0 + nr) * cols);
    if (transform) transform(ctx, wt.data(), r0, nr);
    tile_loss[static_cast<size_t>(t)] = round_rows(ctx, std::move(wt), r0, nr, l.factors.hinv_u, l.grp, grid, opt, l.q);
  });
  l.q.loss = std::accumulate(tile_loss.begin(), tile_loss.end(), 0.0);
}

void declare_gptq_options(config::Schema& s) {
  s.add({"quant.gptq.act_order", false, "gptq/gptaq: round columns in order of decreasing Hessian diagonal "
         "(desc_act)"});
  s.add({"quant.gptq.static_groups", false, "gptq/gptaq with act_order: fix the groups in the original column "
         "order first"});
  s.add({"quant.gptq.block_size", std::int64_t{128}, "gptq/gptaq: lazy-batch width in columns",
         config::in_range(1, 1 << 16)});
  s.add({"quant.gptq.group_params", std::string("current"),
         "gptq/gptaq dynamic groups: scale/zero from the group's columns with all error updates so far (current), "
         "or as they were when the enclosing lazy block began (block_start: the GPTQ reference's behaviour; then "
         "quant.gptq.block_size changes results)",
         config::one_of({"current", "block_start"})});
}

GptqOptions read_gptq_options(const config::Config& cfg) {
  return {.act_order = cfg.get_bool("quant.gptq.act_order"),
          .static_groups = cfg.get_bool("quant.gptq.static_groups"),
          .block_size = cfg.get_int("quant.gptq.block_size"),
          .group_params = cfg.get_string("quant.gptq.group_params") == "block_start" ? GroupParams::BlockStart
                                                                                      : GroupParams::Current};
}

namespace {

class Gptq final : public Method {
 public:
  Gptq(const QuantOptions& grid, const GptqOptions& opt) : Method(grid), opt_(opt) {}
  const char* name() const override { return "gptq"; }
  Needs needs() const override { return {.hessian = true}; }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const LayerStats& stats,
                        const LayerSite& site) const override {
    MACA_CHECK(stats.h && stats.h->defined(), "layer {}: gptq needs the layer's Hessian", site.name);
    GptqLayer l = gptq_prepare(ctx, W, *stats.h, grid_, opt_, site.name, name(), false);
    gptq_round_tiles(ctx, l, grid_, opt_, {});
    return std::move(l.q);
  }

 private:
  GptqOptions opt_;
};

}  // namespace

extern const MethodInfo gptq_method{
    .name = "gptq",
    .help = "error feedback through the Hessian (quant.gptq.*)",
    .declare = declare_gptq_options,
    .create = [](const QuantOptions& grid, const config::Config& cfg) -> std::unique_ptr<Method> {
      return std::make_unique<Gptq>(grid, read_gptq_options(cfg));
    }};

}  // namespace maca::quant
