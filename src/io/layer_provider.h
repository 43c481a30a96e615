// LayerProvider: where the exporters (io/gptq_export.h) get quantized layers
// from, one at a time, so an export never holds more than one block of them.
//
// The exporter first asks for layers() — names, shapes and settings only,
// which a provider reads cheaply (e.g. the attributes of per-block HDF5
// checkpoints) — and computes every output header from them. Then it calls
// get() exactly once per layer, in the order of layers(). List the layers in
// model order (block by block) and a provider reading per-block files keeps
// just the current block:
//
//   class BlockFileLayers : public io::LayerProvider {
//    public:
//     std::vector<io::LayerInfo> layers() const override;  // from each block file's attributes
//     QuantizedLinear get(const std::string& name) override {
//       const int b = block_of(name);
//       if (b != cached_block_) cache_ = read_block_file(b), cached_block_ = b;  // drops the previous block
//       return std::move(cache_.at(name));
//     }
//    private:
//     int cached_block_ = -1;
//     std::map<std::string, QuantizedLinear> cache_;
//   };
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/quantized.h"

namespace maca::io {

// A quantized layer as the exporter needs to know it before its data: the HF
// module name ("model.layers.0.self_attn.q_proj") and the QuantizedLinear
// header fields.
struct LayerInfo {
  std::string name;
  int64_t rows = 0, cols = 0;  // out features N, in features K
  int bits = 4;
  int64_t group_size = 128;  // -1: one group over all of K
  bool sym = true;
  bool act_order = false;
  bool static_groups = false;

  // The header fields of `q`, under `name`.
  static LayerInfo of(const std::string& name, const QuantizedLinear& q);
};

class LayerProvider {
 public:
  virtual ~LayerProvider() = default;
  // Every quantized layer, in the order get() will be called (model order).
  // Cheap: must not load codes.
  virtual std::vector<LayerInfo> layers() const = 0;
  // The layer `name` (one of layers()), matching its LayerInfo. Called once
  // per layer, in the order of layers(); the provider may drop it afterwards.
  // Throws FileError when it cannot be read.
  virtual QuantizedLinear get(const std::string& name) = 0;
};

// Layers already in memory (tests, small models): layers() in name order,
// get() copies from the map, which must outlive the provider.
class MapLayerProvider final : public LayerProvider {
 public:
  explicit MapLayerProvider(const std::map<std::string, QuantizedLinear>& layers) : layers_(layers) {}
  std::vector<LayerInfo> layers() const override;
  QuantizedLinear get(const std::string& name) override;

 private:
  const std::map<std::string, QuantizedLinear>& layers_;
};

}  // namespace maca::io
