// Round to nearest (algorithms.md §1): params per group of the original W, no
// calibration data. Device-resident: the weights go to ctx's device once, and
// group_params and grid_round (backend/ops.h) do the work there.
#include <algorithm>
#include <numeric>

#include "backend/ops.h"
#include "quant/grid.h"
#include "quant/method.h"
#include "quant/methods.h"

namespace maca::quant {
namespace {

QuantizedLinear rtn(backend::Context& ctx, const Tensor& W, const QuantOptions& opt, const std::string& layer) {
  std::vector<double> w = load_weight(W, layer);
  const int64_t rows = W.dim(0), cols = W.dim(1);
  const int64_t g = opt.group_size < 0 ? cols : opt.group_size;
  const int64_t n_groups = (cols + g - 1) / g;  // the last one may be shorter (partial_groups)
  const Grid grid{opt.bits, opt.sym, opt.clip, opt.scale_rounding};
  QuantizedLinear q = new_result(rows, cols, opt, "rtn");
  q.g_idx.resize(static_cast<size_t>(cols));
  q.perm.resize(static_cast<size_t>(cols));
  for (int64_t k = 0; k < cols; ++k) {
    q.g_idx[k] = static_cast<int32_t>(k / g);
    q.perm[k] = static_cast<int32_t>(k);
  }
  const Tensor wd = ctx.to_device(Tensor::borrow(w.data(), {rows, cols}, DType::F64, nullptr));
  const Tensor grp = ctx.to_device(Tensor::borrow(q.g_idx.data(), {cols}, DType::I32, nullptr));
  Tensor scales = ctx.empty({n_groups, rows}), zeros = ctx.empty({n_groups, rows}, DType::I32);
  Tensor codes = ctx.empty({rows, cols}, DType::U8), loss = ctx.empty({rows}, DType::F64);
  const grid::GridSpec spec = grid_spec(grid);
  for (int64_t j = 0; j < n_groups; ++j)
    backend::group_params(ctx, {.spec = spec, .x = wd.device_data<double>() + j * g, .rows = rows,
                                .len = std::min(g, cols - j * g), .ld = cols,
                                .scale = scales.device_data<float>() + j * rows,
                                .zero = zeros.device_data<int32_t>() + j * rows});
  backend::grid_round(ctx, {.x = wd.device_data<double>(), .rows = rows, .n = cols, .ld = cols,
                            .scales = scales.device_data<float>(), .zeros = zeros.device_data<int32_t>(),
                            .ldp = rows, .grp = grp.device_data<int32_t>(), .maxq = grid.maxq(),
                            .codes = codes.device_data<uint8_t>(), .loss = loss.device_data<double>()});
  const Tensor hs = ctx.to_host(scales), hz = ctx.to_host(zeros), hc = ctx.to_host(codes), hl = ctx.to_host(loss);
  q.scales.assign(hs.data<float>(), hs.data<float>() + hs.numel());
  q.zeros.assign(hz.data<int32_t>(), hz.data<int32_t>() + hz.numel());
  q.codes.assign(hc.data<uint8_t>(), hc.data<uint8_t>() + hc.numel());
  // loss: the plain weight-space error Σ (w − q)² (RTN has no Hessian), per row, rows in order.
  q.loss = std::accumulate(hl.data<double>(), hl.data<double>() + rows, 0.0);
  return q;
}

class Rtn final : public Method {
 public:
  explicit Rtn(const QuantOptions& grid) : Method(grid) {}
  const char* name() const override { return "rtn"; }
  Needs needs() const override { return {}; }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const PreparedStats&,
                        const LayerSite& site) const override {
    return rtn(ctx, W, grid_, site.name);
  }
};

}  // namespace
extern const MethodInfo rtn_method{
    .name = "rtn",
    .help = "round to nearest (no calibration data)",
    .declare = nullptr,
    .create = [](const QuantOptions& grid, const config::Config&) -> std::unique_ptr<Method> {
      return std::make_unique<Rtn>(grid);
    }};

}  // namespace maca::quant
