#include "io/layer_provider.h"

#include "core/error.h"

namespace maca::io {

LayerInfo LayerInfo::of(const std::string& name, const QuantizedLinear& q) {
  return {name, q.rows, q.cols, q.bits, q.group_size, q.sym, q.act_order, q.static_groups};
}

std::vector<LayerInfo> MapLayerProvider::layers() const {
  std::vector<LayerInfo> out;
  out.reserve(layers_.size());
  for (const auto& [name, q] : layers_) out.push_back(LayerInfo::of(name, q));
  return out;
}

QuantizedLinear MapLayerProvider::get(const std::string& name) {
  const auto it = layers_.find(name);
  MACA_ASSERT(it != layers_.end(), "MapLayerProvider: no layer '{}'", name);
  return it->second;
}

}  // namespace maca::io
