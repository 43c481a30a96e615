#include "io/gptq_export.h"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/log.h"
#include "io/gptq_pack.h"
#include "io/safetensors.h"

namespace maca::io {

namespace {

namespace fs = std::filesystem;

using TensorList = std::vector<std::pair<std::string, Tensor>>;

// Files next to an HF model that a loader wants besides config and weights.
constexpr const char* kSidecarFiles[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",       "vocab.json",
    "merges.txt",     "added_tokens.json",     "chat_template.jinja",     "generation_config.json"};

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      MACA_THROW(FileError, "cannot write '{}'; check free disk space and permissions", tmp.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) MACA_THROW(FileError, "cannot rename '{}' to '{}': {}", tmp.string(), path.string(), ec.message());
}

void copy_file_atomic(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in) MACA_THROW(FileError, "cannot read '{}'", from.string());
  write_file_atomic(to, bytes.str());
}

// Tokenizer and generation files from beside the source: the known names in
// an HF directory, "<stem>.tokenizer.json" next to a .gguf file.
void copy_sidecar_files(const ModelSource& source, const fs::path& out_dir) {
  const fs::path location = source.location();
  if (fs::is_directory(location)) {
    for (const char* name : kSidecarFiles)
      if (fs::is_regular_file(location / name)) copy_file_atomic(location / name, out_dir / name);
  } else {
    fs::path tokenizer = location;
    tokenizer.replace_extension(".tokenizer.json");
    if (fs::is_regular_file(tokenizer)) copy_file_atomic(tokenizer, out_dir / "tokenizer.json");
  }
  if (!fs::exists(out_dir / "tokenizer.json"))
    spdlog::warn(
        "export: no tokenizer.json beside '{}' (for a .gguf: <stem>.tokenizer.json), so '{}' has none; "
        "copy one there before evaluating it",
        location.string(), out_dir.string());
}

const char* torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "float32";
    case DType::F16:
      return "float16";
    case DType::BF16:
      return "bfloat16";
    default:
      MACA_THROW(Error, "export dtype must be float32, float16 or bfloat16, not {}", dtype_name(dtype));
  }
}

// A fp32 host tensor in `dtype` (F32, F16 or BF16).
Tensor cast(Tensor f32, DType dtype) {
  if (dtype == DType::F32) return f32;
  Tensor out = Tensor::empty(f32.shape(), dtype);
  const float* in = f32.data<float>();
  uint16_t* o = out.data<uint16_t>();
  for (int64_t i = 0; i < f32.numel(); ++i) o[i] = dtype == DType::F16 ? f32_to_f16(in[i]) : f32_to_bf16(in[i]);
  return out;
}

// The source config with the export's dtype and without a previous quantization_config.
nlohmann::json base_config(const ModelSource& source, DType dtype) {
  nlohmann::json config = source.config();
  config.erase("quantization_config");
  bool named = false;
  for (const char* key : {"dtype", "torch_dtype"})
    if (config.contains(key)) config[key] = torch_dtype_name(dtype), named = true;
  if (!named) config["torch_dtype"] = torch_dtype_name(dtype);
  return config;
}

void check_layers_match_source(const ModelSource& source, const std::map<std::string, QuantizedLinear>& layers) {
  for (const auto& [name, q] : layers) {
    const std::string weight = name + ".weight";
    MACA_CHECK(source.has_tensor(weight), "export: quantized layer '{}' has no weight '{}' in the source model '{}'",
               name, weight, source.location());
    const Shape shape = source.tensor_shape(weight);
    MACA_CHECK(shape == (Shape{q.rows, q.cols}), "export: quantized layer '{}' is [{}, {}] but '{}' in '{}' is {}",
               name, q.rows, q.cols, weight, source.location(), shape_str(shape));
    MACA_CHECK(static_cast<int64_t>(q.codes.size()) == q.rows * q.cols,
               "export: quantized layer '{}' has {} codes for [{}, {}]", name, q.codes.size(), q.rows, q.cols);
  }
}

// Layer name when `tensor` is the weight of a quantized layer.
const QuantizedLinear* quantized_weight(const std::map<std::string, QuantizedLinear>& layers,
                                        const std::string& tensor) {
  constexpr size_t kSuffix = 7;  // ".weight"
  if (tensor.size() <= kSuffix || tensor.compare(tensor.size() - kSuffix, kSuffix, ".weight") != 0) return nullptr;
  const auto it = layers.find(tensor.substr(0, tensor.size() - kSuffix));
  return it == layers.end() ? nullptr : &it->second;
}

nlohmann::json quantization_config(const std::map<std::string, QuantizedLinear>& layers, GptqFormat format,
                                   const GptqExportOptions& options) {
  const auto& [first_name, first] = *layers.begin();
  bool act_order = false, static_groups = false;
  for (const auto& [name, q] : layers) {
    MACA_CHECK(q.bits == first.bits && q.group_size == first.group_size && q.sym == first.sym,
               "GPTQ export: layer '{}' has bits {}, group size {}, sym {} but layer '{}' has bits {}, group size {}, "
               "sym {}; a GPTQ checkpoint holds one setting for all layers",
               name, q.bits, q.group_size, q.sym, first_name, first.bits, first.group_size, first.sym);
    act_order = act_order || q.act_order;
    static_groups = static_groups || q.static_groups;
  }
  nlohmann::json meta = options.extra_meta.is_object() ? options.extra_meta : nlohmann::json::object();
  meta["quantizer"] =
      nlohmann::json::array({"maca:" + (options.version.empty() ? std::string(MACA_VERSION) : options.version)});
  return {{"quant_method", "gptq"},
          {"bits", first.bits},
          {"group_size", first.group_size},
          {"desc_act", act_order},
          {"sym", first.sym},
          {"static_groups", static_groups},
          {"true_sequential", options.true_sequential},
          {"damp_percent", options.damp_percent},
          {"checkpoint_format", gptq_format_name(format)},
          {"lm_head", layers.count("lm_head") != 0},
          {"meta", meta}};
}

// Writes model.safetensors, then the json files and sidecars.
void write_directory(const ModelSource& source, const fs::path& out_dir, const TensorList& tensors,
                     const std::vector<std::pair<std::string, nlohmann::json>>& json_files) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) MACA_THROW(FileError, "cannot create output directory '{}': {}", out_dir.string(), ec.message());
  fs::remove(out_dir / "model.safetensors.index.json", ec);  // a stale index would shadow model.safetensors
  write_safetensors(out_dir / "model.safetensors", tensors);
  copy_sidecar_files(source, out_dir);
  for (const auto& [name, json] : json_files) write_file_atomic(out_dir / name, json.dump(2) + "\n");
}

}  // namespace

void write_gptq_checkpoint(const ModelSource& source, const std::map<std::string, QuantizedLinear>& layers,
                           const fs::path& out_dir, const GptqExportOptions& options) {
  MACA_CHECK(!layers.empty(), "GPTQ export of '{}': no quantized layers given", source.location());
  check_layers_match_source(source, layers);
  torch_dtype_name(options.dtype);  // rejects unsupported dtypes before any work
  const bool sym = layers.begin()->second.sym;
  const GptqFormat format = options.checkpoint_format == "auto"
                                ? (sym ? GptqFormat::V1 : GptqFormat::V2)
                                : parse_gptq_format(options.checkpoint_format, "GPTQ export option checkpoint_format");
  const nlohmann::json qc = quantization_config(layers, format, options);

  TensorList tensors;
  for (const std::string& name : source.tensor_names()) {
    const QuantizedLinear* q = quantized_weight(layers, name);
    if (!q) {
      tensors.emplace_back(name, cast(source.load(name), options.dtype));
      continue;
    }
    const std::string layer = name.substr(0, name.size() - 7);
    GptqTensors t = pack_gptq_layer(*q, format, layer);
    tensors.emplace_back(layer + ".qweight", std::move(t.qweight));
    tensors.emplace_back(layer + ".qzeros", std::move(t.qzeros));
    tensors.emplace_back(layer + ".scales", std::move(t.scales));
    tensors.emplace_back(layer + ".g_idx", std::move(t.g_idx));
  }
  nlohmann::json config = base_config(source, options.dtype);
  config["quantization_config"] = qc;
  write_directory(source, out_dir, tensors, {{"quantize_config.json", qc}, {"config.json", config}});
}

void write_fake_quant_checkpoint(const ModelSource& source, const std::map<std::string, QuantizedLinear>& layers,
                                 const fs::path& out_dir, DType dtype) {
  check_layers_match_source(source, layers);
  torch_dtype_name(dtype);
  TensorList tensors;
  for (const std::string& name : source.tensor_names()) {
    const QuantizedLinear* q = quantized_weight(layers, name);
    if (!q) {
      tensors.emplace_back(name, cast(source.load(name), dtype));
      continue;
    }
    Tensor w = Tensor::empty({q->rows, q->cols});
    const std::vector<float> values = q->dequantize();
    std::copy(values.begin(), values.end(), w.data<float>());
    tensors.emplace_back(name, cast(std::move(w), dtype));
  }
  write_directory(source, out_dir, tensors, {{"config.json", base_config(source, dtype)}});
}

}  // namespace maca::io
