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
// Device-resident: the damped factors are computed once on the host, then the
// rows are rounded in chunks whose weights (processing order), codes, errors
// and group parameters live on the context's device, entirely through backend
// ops (gather_columns, group_params, gptq_columns, gemm_row_tiles). Rows are
// independent and every op that mixes rows works in tiles of kRowTile rows
// counted from the layer's first row, so a row's bits depend only on its
// tile: not on the chunk size, the thread count, nor on which rank rounds it
// (ranks get tile-aligned row slices).
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

// Rows per chunk on the CPU, where a chunk's f64 copy of the weights is
// host memory next to the layer's own; a GPU rounds the whole slice at once.
constexpr int64_t kCpuChunkRows = 1024;
static_assert(kCpuChunkRows % kRowTile == 0);

// What every chunk of a layer shares, on the context's device.
struct LayerBuffers {
  Tensor hinv;    // [cols, cols] upper Cholesky factor of H⁻¹, processing order
  Tensor grp;     // [cols] group of each processing-order column
  Tensor scales;  // [n_groups, rows]
  Tensor zeros;   // [n_groups, rows]
};

// Rounds rows [r0, r0 + nr) of the layer: w holds them ([nr, cols], original
// order, on the device; consumed). Codes go to q's rows r0…, scales/zeros to
// the layer buffers; returns each row's loss (host).
std::vector<double> round_rows(backend::Context& ctx, Tensor w, int64_t r0, int64_t nr, LayerBuffers& lb,
                               const QuantOptions& grid_opt, const GptqOptions& opt, QuantizedLinear& q) {
  const int64_t rows = q.rows, cols = q.cols;
  const bool whole_row = grid_opt.group_size < 0;
  const int64_t g = whole_row ? cols : grid_opt.group_size;
  const bool dynamic = !whole_row && !opt.static_groups;
  const Grid grid{grid_opt.bits, grid_opt.sym, grid_opt.clip, grid_opt.scale_rounding};
  const grid::GridSpec spec = grid_spec(grid);
  const int64_t n_groups = (cols + g - 1) / g;  // the last one may be shorter (partial_groups)
  auto* scales = lb.scales.device_data<float>() + r0;
  auto* zeros = lb.zeros.device_data<int32_t>() + r0;
  auto params = [&](const double* x, int64_t len, int64_t ld, int64_t j) {
    backend::group_params(
        ctx,
        {.spec = spec, .x = x, .rows = nr, .len = len, .ld = ld, .scale = scales + j * rows, .zero = zeros + j * rows});
  };

  if (!dynamic)  // one group per row, or static groups of original columns
    for (int64_t j = 0; j < n_groups; ++j) params(w.device_data<double>() + j * g, std::min(g, cols - j * g), cols, j);

  Tensor wp = ctx.empty({nr, cols}, DType::F64);
  backend::gather_columns(ctx, nr, q.perm, w.device_data<double>(), cols, wp.device_data<double>(), cols);
  w = Tensor();

  const int64_t bs = dynamic ? g * std::max<int64_t>(1, opt.block_size / g) : opt.block_size;
  const bool stale = dynamic && opt.group_params == GroupParams::BlockStart;
  Tensor block_start = stale ? ctx.empty({nr, bs}, DType::F64) : Tensor();  // the block's columns as it began
  Tensor codes_p = ctx.empty({nr, cols}, DType::U8);
  Tensor err = ctx.empty({nr, bs}, DType::F64), loss = ctx.empty({nr}, DType::F64);
  ctx.zero(loss.raw(), loss.nbytes());
  const double* hinv = lb.hinv.device_data<double>();
  std::vector<int32_t> block_cols;
  for (int64_t i1 = 0; i1 < cols; i1 += bs) {
    const int64_t i2 = std::min(i1 + bs, cols), nb = i2 - i1;
    const backend::GptqColumns args{.w = wp.device_data<double>() + i1,
                                    .rows = nr,
                                    .ncols = nb,
                                    .ldw = cols,
                                    .hinv = hinv + i1 * cols + i1,
                                    .ldh = cols,
                                    .scales = scales,
                                    .zeros = zeros,
                                    .ldp = rows,
                                    .grp = lb.grp.device_data<int32_t>() + i1,
                                    .maxq = grid.maxq(),
                                    .codes = codes_p.device_data<uint8_t>() + i1,
                                    .ldc = cols,
                                    .err = err.device_data<double>(),
                                    .lde = bs,
                                    .loss = loss.device_data<double>()};
    if (stale) {
      block_cols.resize(static_cast<size_t>(nb));
      std::iota(block_cols.begin(), block_cols.end(), static_cast<int32_t>(i1));
      backend::gather_columns(ctx, nr, block_cols, wp.device_data<double>(), cols, block_start.device_data<double>(),
                              nb);
    }
    if (dynamic) {
      for (int64_t c0 = 0; c0 < nb; c0 += g) {
        const int64_t j = (i1 + c0) / g, len = std::min(g, nb - c0);
        if (stale)
          params(block_start.device_data<double>() + c0, len, nb, j);
        else
          params(wp.device_data<double>() + i1 + c0, len, cols, j);
        backend::gptq_columns(ctx, args, c0, c0 + len);
      }
    } else {
      backend::gptq_columns(ctx, args, 0, nb);
    }
    if (i2 < cols)  // lazy batch: W[:, i2:] −= Err · Hinv[i1:i2, i2:]
      backend::gemm_row_tiles(ctx, kRowTile, nr, cols - i2, nb, -1.0, err.device_data<double>(), bs,
                              hinv + i1 * cols + i2, cols, 1.0, wp.device_data<double>() + i2, cols);
  }

  const Tensor codes = ctx.to_host(codes_p);
  const auto* cp = codes.data<uint8_t>();
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t i = 0; i < cols; ++i) q.codes[(r0 + r) * cols + q.perm[i]] = cp[r * cols + i];
  const Tensor l = ctx.to_host(loss);
  return {l.data<double>(), l.data<double>() + nr};
}

}  // namespace

PrepRequest gptq_request(const GptqOptions& opt, bool asymmetric) {
  return {.hessian = true,
          .order = opt.act_order ? ColumnOrder::DiagDescending : ColumnOrder::Input,
          .factors = {.hinv_u = true, .h_factor = asymmetric},
          .cross = asymmetric};
}

GptqLayer gptq_prepare(const Tensor& W, const PreparedStats& prep, const QuantOptions& grid, const GptqOptions& opt,
                       const std::string& layer, const char* method) {
  GptqLayer l{.w = load_weight(W, prep, layer), .prep = &prep};
  const int64_t rows = W.dim(0), cols = W.dim(1);
  MACA_ASSERT(prep.factors.hinv_u.defined(), "layer {}: prepared without GPTQ's factor", layer);

  QuantizedLinear& q = l.q;
  q = new_result(rows, cols, grid, method);
  q.act_order = opt.act_order;
  q.static_groups = opt.static_groups;
  q.perm = prep.perm;
  q.damp = prep.factors.damp;

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

void gptq_round(backend::Context& ctx, GptqLayer& l, const QuantOptions& grid, const GptqOptions& opt,
                const RowTransform& transform) {
  QuantizedLinear& q = l.q;
  const int64_t rows = q.rows, cols = q.cols;
  LayerBuffers lb{.hinv = l.prep->factors.hinv_u,
                  .grp = ctx.to_device(Tensor::borrow(l.grp.data(), {cols}, DType::I32, nullptr)),
                  .scales = ctx.empty({static_cast<int64_t>(q.scales.size()) / rows, rows}),
                  .zeros = ctx.empty({static_cast<int64_t>(q.zeros.size()) / rows, rows}, DType::I32)};
  const int64_t chunk = ctx.device().is_cpu() ? kCpuChunkRows : rows;
  std::vector<double> row_loss;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t nr = std::min(chunk, rows - r0);
    // On the CPU the chunk is the layer's own rows (to_device is the identity).
    Tensor w = ctx.to_device(Tensor::borrow(l.w.data() + r0 * cols, {nr, cols}, DType::F64, nullptr));
    if (transform) transform(ctx, w.device_data<double>(), r0, nr);
    const std::vector<double> loss = round_rows(ctx, std::move(w), r0, nr, lb, grid, opt, q);
    row_loss.insert(row_loss.end(), loss.begin(), loss.end());
  }
  const Tensor scales = ctx.to_host(lb.scales), zeros = ctx.to_host(lb.zeros);
  std::copy_n(scales.data<float>(), q.scales.size(), q.scales.data());
  std::copy_n(zeros.data<int32_t>(), q.zeros.size(), q.zeros.data());
  // Summed per row tile, then over tiles, in order (any row split gives the same sum).
  q.loss = 0;
  for (int64_t t0 = 0; t0 < rows; t0 += kRowTile)
    q.loss += std::accumulate(row_loss.begin() + t0, row_loss.begin() + std::min(rows, t0 + kRowTile), 0.0);
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
  PrepRequest prep_request() const override { return gptq_request(opt_, false); }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const PreparedStats& prep,
                        const LayerSite& site) const override {
    GptqLayer l = gptq_prepare(W, prep, grid_, opt_, site.name, name());
    gptq_round(ctx, l, grid_, opt_, {});
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
