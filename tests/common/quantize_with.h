// Rounding one layer in tests through the method registry: settings are
// config keys ("quant.method", "quant.gptq.act_order", ...) on top of the
// builtin defaults, so tests exercise the same path as `maca quantize`.
#pragma once

#include <map>
#include <string>

#include "quant/method.h"
#include "settings/options.h"

namespace maca::test {

using Settings = std::map<std::string, std::string>;

inline config::Config quant_config(const Settings& settings) {
  config::Config c(config::builtin_schema());
  for (const auto& [key, value] : settings) c.set(key, value, "test");
  return c;
}

// Validates like read_job_options does, then rounds W with H and D (either may be null).
inline QuantizedLinear quantize_with(const Tensor& W, const Tensor* H, const Tensor* D, const Settings& settings,
                                     const std::string& layer, const quant::LayerSite& site = {}) {
  const auto method = quant::create_method(quant_config(settings));
  method->validate(W.dim(1), layer);
  quant::LayerSite s = site;
  s.name = layer;
  const auto ctx = backend::Context::create(Device::cpu());
  return method->round_layer(*ctx, W, {.h = H, .d = D}, s);
}

}  // namespace maca::test
