// The list of rounding methods. A new method is a file under src/quant/
// defining its MethodInfo, plus its name on the two lines below.
#include <algorithm>
#include <array>

#include "core/error.h"
#include "quant/method.h"

namespace maca::quant {

extern const MethodInfo rtn_method, gptq_method, gptaq_method, snrq_method, ksnrq_method;

std::span<const MethodInfo* const> methods() {
  static const std::array<const MethodInfo*, 5> all = {&rtn_method, &gptq_method, &gptaq_method, &snrq_method,
                                                       &ksnrq_method};
  return all;
}

std::unique_ptr<Method> create_method(const config::Config& cfg) {
  const std::string& name = cfg.get_string("quant.method");
  const auto all = methods();
  const auto it = std::find_if(all.begin(), all.end(), [&](const MethodInfo* m) { return name == m->name; });
  MACA_CHECK(it != all.end(), "quant.method: unknown method '{}'", name);  // the schema's check lists the choices
  return (*it)->create(read_grid_options(cfg), cfg);
}

void Method::validate(int64_t cols, const std::string& layer) const { quant::validate(grid_, cols, layer); }

double Method::sequence_alpha(int64_t) const { return 1.0; }

QuantizedLinear Method::round_layer(backend::Context& ctx, const Tensor& W, const LayerStats& stats,
                                    const LayerSite& site) const {
  return round(ctx, W, prepare(ctx, prep_request(), stats, grid_, site.name), site);
}

}  // namespace maca::quant
