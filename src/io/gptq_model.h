// Reading GPTQ checkpoints: an HF directory whose config.json carries
// quantization_config.quant_method "gptq" (what io/gptq_export writes, and
// what transformers/GPTQModel/vLLM load).
//
// GptqCheckpoint gives the stored layers (for `maca inspect`'s checks);
// open_gptq_model presents the checkpoint as a ModelSource whose
// "<layer>.weight" is dequantized to fp32 [N, K] on load, so `maca eval` runs
// a GPTQ export directly. Decoding is gptq_pack's unpack_gptq_layer.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/quantized.h"
#include "io/gptq_pack.h"
#include "io/hf_model.h"

namespace maca::io {

// True when `config` (an HF config.json) declares a GPTQ checkpoint.
bool is_gptq_config(const nlohmann::json& config);

// config["quantization_config"] as settings (checkpoint_format defaults to
// "gptq", sym to true, desc_act and static_groups to false). Throws FileError
// naming `where` and the key when it is missing or malformed.
GptqSettings gptq_settings(const nlohmann::json& config, const std::string& where);

class GptqCheckpoint {
 public:
  // Opens the directory (see HfModel) and reads its quantization_config.
  // Throws FileError when it is not a GPTQ checkpoint or a layer lacks qzeros
  // or scales.
  explicit GptqCheckpoint(const std::filesystem::path& dir);

  const HfModel& raw() const { return raw_; }
  const GptqSettings& settings() const { return settings_; }
  // Quantized layers ("model.layers.0.self_attn.q_proj"): every tensor name
  // ending in ".qweight", without the suffix, in file order.
  const std::vector<std::string>& layers() const { return layers_; }
  bool is_layer(const std::string& layer) const { return layer_set_.count(layer) != 0; }
  // The stored tensors of `layer`. A missing g_idx (older exports without
  // act-order) is filled in as k / group_size.
  GptqTensors tensors(const std::string& layer) const;
  // tensors(layer) unpacked and validated (unpack_gptq_layer).
  QuantizedLinear unpack(const std::string& layer) const { return unpack_gptq_layer(tensors(layer), settings_, layer); }
  // [N, K] of `layer` from the stored shapes, without reading data.
  Shape weight_shape(const std::string& layer) const;

 private:
  HfModel raw_;
  GptqSettings settings_;
  std::vector<std::string> layers_;
  std::set<std::string> layer_set_;
};

// The checkpoint in `dir` as a ModelSource. Tensor names are the HF ones:
// each quantized layer's qweight/qzeros/scales/g_idx become "<layer>.weight",
// every other tensor is listed and loaded as stored (converted to fp32).
std::unique_ptr<ModelSource> open_gptq_model(const std::filesystem::path& dir);

}  // namespace maca::io
