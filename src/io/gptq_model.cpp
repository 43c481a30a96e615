#include "io/gptq_model.h"

#include <algorithm>
#include <optional>

#include "core/error.h"

namespace maca::io {

namespace {

namespace fs = std::filesystem;

constexpr const char* kSuffixes[] = {".qweight", ".qzeros", ".scales", ".g_idx"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

template <class T>
T setting(const nlohmann::json& qc, const char* key, const std::string& where, std::optional<T> fallback) {
  const auto it = qc.find(key);
  if (it == qc.end() || it->is_null()) {
    if (fallback) return *fallback;
    MACA_THROW(FileError, "{}: quantization_config has no \"{}\"; not a complete GPTQ config.json", where, key);
  }
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    MACA_THROW(FileError, "{}: quantization_config.{} = {} has the wrong type", where, key, it->dump());
  }
}

class GptqModel final : public ModelSource {
 public:
  explicit GptqModel(const fs::path& dir) : ckpt_(dir) {
    for (const std::string& name : ckpt_.raw().tensor_names()) {
      std::string layer;
      for (const char* suffix : kSuffixes)
        if (ends_with(name, suffix)) layer = name.substr(0, name.size() - std::string(suffix).size());
      if (layer.empty() || !ckpt_.is_layer(layer)) {
        names_.push_back(name);
      } else if (ends_with(name, ".qweight")) {
        names_.push_back(layer + ".weight");
      }
    }
  }

  const nlohmann::json& config() const override { return ckpt_.raw().config(); }
  std::vector<std::string> tensor_names() const override { return names_; }
  bool has_tensor(const std::string& name) const override {
    return ckpt_.raw().has_tensor(name) || quantized_layer(name).has_value();
  }
  Shape tensor_shape(const std::string& name) const override {
    const std::optional<std::string> layer = quantized_layer(name);
    return layer ? ckpt_.weight_shape(*layer) : ckpt_.raw().tensor_shape(name);
  }
  Tensor load(const std::string& name) const override {
    const std::optional<std::string> layer = quantized_layer(name);
    if (!layer) return ckpt_.raw().load(name);
    const QuantizedLinear q = ckpt_.unpack(*layer);
    Tensor w = Tensor::empty({q.rows, q.cols});
    const std::vector<float> values = q.dequantize();
    std::copy(values.begin(), values.end(), w.data<float>());
    return w;
  }
  std::string location() const override { return ckpt_.raw().location(); }
  std::vector<fs::path> files() const override { return ckpt_.raw().files(); }

 private:
  // The layer when `name` is "<quantized layer>.weight".
  std::optional<std::string> quantized_layer(const std::string& name) const {
    if (!ends_with(name, ".weight")) return std::nullopt;
    std::string layer = name.substr(0, name.size() - 7);
    if (!ckpt_.is_layer(layer)) return std::nullopt;
    return layer;
  }

  GptqCheckpoint ckpt_;
  std::vector<std::string> names_;
};

}  // namespace

bool is_gptq_config(const nlohmann::json& config) {
  const auto qc = config.find("quantization_config");
  if (qc == config.end() || !qc->is_object()) return false;
  const auto method = qc->find("quant_method");
  return method != qc->end() && method->is_string() && method->get<std::string>() == "gptq";
}

GptqSettings gptq_settings(const nlohmann::json& config, const std::string& where) {
  if (!is_gptq_config(config))
    MACA_THROW(FileError, "{}: config.json has no quantization_config with quant_method \"gptq\"", where);
  const nlohmann::json& qc = config.at("quantization_config");
  GptqSettings s;
  s.bits = setting<int>(qc, "bits", where, std::nullopt);
  s.group_size = setting<int64_t>(qc, "group_size", where, std::nullopt);
  s.sym = setting<bool>(qc, "sym", where, true);
  s.desc_act = setting<bool>(qc, "desc_act", where, false);
  s.static_groups = setting<bool>(qc, "static_groups", where, false);
  const std::string format = setting<std::string>(qc, "checkpoint_format", where, std::string("gptq"));
  if (format != gptq_format_name(GptqFormat::V1) && format != gptq_format_name(GptqFormat::V2))
    MACA_THROW(FileError, "{}: quantization_config.checkpoint_format '{}' is not one of gptq, gptq_v2", where, format);
  s.format = parse_gptq_format(format, where);
  if (s.group_size == 0 || s.group_size < -1)
    MACA_THROW(FileError, "{}: quantization_config.group_size = {} is neither -1 nor positive", where, s.group_size);
  return s;
}

GptqCheckpoint::GptqCheckpoint(const fs::path& dir)
    : raw_(dir), settings_(gptq_settings(raw_.config(), (dir / "config.json").string())) {
  for (const std::string& name : raw_.tensor_names()) {
    if (!ends_with(name, ".qweight")) continue;
    const std::string layer = name.substr(0, name.size() - 8);
    for (const char* part : {".qzeros", ".scales"})
      if (!raw_.has_tensor(layer + part))
        MACA_THROW(FileError,
                   "GPTQ checkpoint '{}': layer '{}' has a qweight but no '{}{}'; the checkpoint is incomplete",
                   dir.string(), layer, layer, part);
    layers_.push_back(layer);
    layer_set_.insert(layer);
  }
}

Shape GptqCheckpoint::weight_shape(const std::string& layer) const {
  const Shape q = raw_.tensor_shape(layer + ".qweight");
  if (q.size() != 2)
    MACA_THROW(FileError, "GPTQ layer '{}': tensor '{}.qweight' has shape {}, expected [K*bits/32, N]", layer, layer,
               shape_str(q));
  return {q[1], q[0] * 32 / settings_.bits};
}

GptqTensors GptqCheckpoint::tensors(const std::string& layer) const {
  GptqTensors t{raw_.view(layer + ".qweight"), raw_.view(layer + ".qzeros"), raw_.view(layer + ".scales"), {}};
  if (raw_.has_tensor(layer + ".g_idx")) {
    t.g_idx = raw_.view(layer + ".g_idx");
  } else {
    const int64_t cols = weight_shape(layer)[1];
    const int64_t group = settings_.group_size < 0 ? cols : settings_.group_size;
    t.g_idx = Tensor::empty({cols}, DType::I32);
    for (int64_t k = 0; k < cols; ++k) t.g_idx.data<int32_t>()[k] = static_cast<int32_t>(k / group);
  }
  return t;
}

std::unique_ptr<ModelSource> open_gptq_model(const fs::path& dir) { return std::make_unique<GptqModel>(dir); }

}  // namespace maca::io
