// GPTAQ (algorithms.md §4, the asymmetric baseline): GPTQ's loop (gptq.h)
// rounding towards the shifted target W_α = W + α·W·D·H_λ⁻¹ with a fixed α
// (quant.gptaq.alpha), the shift applied on the device before rounding.
#include "backend/ops.h"
#include "core/error.h"
#include "quant/gptq.h"
#include "quant/method.h"
#include "quant/methods.h"

namespace maca::quant {

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
  PrepRequest prep_request() const override { return gptq_request(gptq_, true); }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const PreparedStats& prep,
                        const LayerSite& site) const override {
    GptqLayer l = gptq_prepare(W, prep, grid_, gptq_, site.name, name());
    MACA_ASSERT(prep.factors.h_factor.defined() && prep.d.defined(), "layer {}: prepared without GPTAQ's shift",
                site.name);
    l.q.alpha = alpha_;
    const int64_t n = l.q.cols;
    const Tensor& d_dev = prep.d;
    const Tensor& factor = prep.factors.h_factor;
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
