// GPTAQ (algorithms.md §4, the asymmetric baseline): GPTQ's loop (gptq.h)
// rounding towards the shifted target W_α = W + α·W·D·H_λ⁻¹ with a fixed α
// (quant.gptaq.alpha), the shift applied on the device before rounding.
#include <cmath>

#include "backend/ops.h"
#include "core/error.h"
#include "quant/gptq.h"
#include "quant/method.h"
#include "quant/methods.h"

namespace maca::quant {

std::vector<double> load_cross(const Tensor& D, const LoadedHessian& h, const std::string& layer) {
  const int64_t n = h.n;
  MACA_CHECK(D.dtype() == DType::F32 && D.device().is_cpu() && D.ndim() == 2 && D.dim(0) == n && D.dim(1) == n,
             "layer {}: the asymmetric statistics D must be host f32 [{}, {}], got {}", layer, n, n, D.str());
  const float* src = D.data<float>();
  std::vector<double> d(src, src + n * n);
  for (double v : d)
    MACA_CHECK(std::isfinite(v), "layer {}: the asymmetric statistics D have a non-finite entry ({})", layer, v);
  for (int64_t i = 0; i < n; ++i)
    if (h.dead[i])
      for (int64_t j = 0; j < n; ++j) d[i * n + j] = d[j * n + i] = 0;
  return d;
}

void cross_term(backend::Context& ctx, const double* w, int64_t rows, int64_t n, const double* d,
                const double* factor, bool upper, double* out) {
  backend::gemm_row_tiles(ctx, kRowTile, rows, n, n, 1.0, w, n, d, n, 0.0, out, n);
  backend::cholesky_solve(ctx, n, rows, factor, n, upper, out, n);
}

namespace {

class Gptaq final : public Method {
 public:
  Gptaq(const QuantOptions& grid, const GptqOptions& gptq, double alpha) : Method(grid), gptq_(gptq), alpha_(alpha) {}
  const char* name() const override { return "gptaq"; }
  Needs needs() const override { return {.hessian = true, .cross = true}; }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const LayerStats& stats,
                        const LayerSite& site) const override {
    MACA_CHECK(stats.h && stats.h->defined(), "layer {}: gptaq needs the layer's Hessian", site.name);
    MACA_CHECK(stats.d && stats.d->defined(), "layer {}: gptaq needs the asymmetric statistics D", site.name);
    GptqLayer l = gptq_prepare(ctx, W, *stats.h, grid_, gptq_, site.name, name(), true);
    l.q.alpha = alpha_;
    std::vector<double> d = load_cross(*stats.d, l.h, site.name);
    const int64_t n = l.q.cols;
    Tensor d_dev = ctx.to_device(host_view(d, {n, n}));
    const Tensor& factor = l.factors.h_factor;
    gptq_round(ctx, l, grid_, gptq_, [&](backend::Context& c, double* w, int64_t, int64_t nr) {
      Tensor m = c.empty({nr, n}, DType::F64);
      auto* mp = m.device_data<double>();
      cross_term(c, w, nr, n, d_dev.device_data<double>(), factor.device_data<double>(), false,
                 mp);
      backend::axpy(c, nr * n, alpha_, mp, w);
    });
    return std::move(l.q);
  }

 private:
  GptqOptions gptq_;
  double alpha_;
};

}  // namespace

extern const MethodInfo gptaq_method{
    .name = "gptaq",
    .help = "gptq towards the full-precision model's outputs with a fixed alpha (quant.gptaq.alpha; takes "
            "quant.gptq.* too)",
    .declare = [](config::Schema& s) {
      s.add({"quant.gptaq.alpha", 0.25, "gptaq: weight of the full-precision stream in the target (0 = gptq, 1 = "
             "fully asymmetric)", config::in_range(0, 1)});
    },
    .create = [](const QuantOptions& grid, const config::Config& cfg) -> std::unique_ptr<Method> {
      return std::make_unique<Gptaq>(grid, read_gptq_options(cfg), cfg.get_float("quant.gptaq.alpha"));
    }};

}  // namespace maca::quant
