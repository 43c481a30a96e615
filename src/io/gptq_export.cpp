#include "io/gptq_export.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/log.h"
#include "io/gptq_pack.h"

namespace maca::io {

namespace {

namespace fs = std::filesystem;

// Files next to an HF model that a loader wants besides config and weights.
constexpr const char* kSidecarFiles[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",       "vocab.json",
    "merges.txt",     "added_tokens.json",     "chat_template.jinja",     "generation_config.json"};

void copy_file_atomic(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in) MACA_THROW(FileError, "cannot read '{}'", from.string());
  write_file_atomic(to, bytes.str());
}

// Tokenizer and generation files from beside the source: the known names in
// an HF directory, "<stem>.tokenizer.json" next to a .gguf file; without a
// tokenizer.json there, the generated `tokenizer_files`.
void write_sidecar_files(const ModelSource& source, const fs::path& out_dir, const TokenizerFiles& tokenizer_files) {
  const fs::path location = source.location();
  bool copied_tokenizer = false;
  if (fs::is_directory(location)) {
    for (const char* name : kSidecarFiles)
      if (fs::is_regular_file(location / name)) {
        copy_file_atomic(location / name, out_dir / name);
        copied_tokenizer = copied_tokenizer || std::string_view(name) == "tokenizer.json";
      }
  } else {
    fs::path tokenizer = location;
    tokenizer.replace_extension(".tokenizer.json");
    if (fs::is_regular_file(tokenizer)) {
      copy_file_atomic(tokenizer, out_dir / "tokenizer.json");
      copied_tokenizer = true;
    }
  }
  if (copied_tokenizer) return;
  for (const auto& [name, content] : tokenizer_files) write_file_atomic(out_dir / name, content);
  if (!tokenizer_files.contains("tokenizer.json"))
    spdlog::warn("export: no tokenizer.json beside '{}', so '{}' has none; copy one there before evaluating it",
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

// The layers by weight name ("<layer>.weight"), each checked against its source weight.
std::map<std::string, LayerInfo> layers_by_weight(const ModelSource& source, const std::vector<LayerInfo>& layers) {
  std::map<std::string, LayerInfo> by_weight;
  for (const LayerInfo& info : layers) {
    const std::string weight = info.name + ".weight";
    MACA_CHECK(source.has_tensor(weight), "export: quantized layer '{}' has no weight '{}' in the source model '{}'",
               info.name, weight, source.location());
    const Shape shape = source.tensor_shape(weight);
    MACA_CHECK(shape == (Shape{info.rows, info.cols}),
               "export: quantized layer '{}' is [{}, {}] but '{}' in '{}' is {}", info.name, info.rows, info.cols,
               weight, source.location(), shape_str(shape));
    MACA_CHECK(by_weight.emplace(weight, info).second, "export: quantized layer '{}' is given twice", info.name);
  }
  return by_weight;
}

// Fetches `info`'s layer and checks it is the layer `info` announced.
QuantizedLinear fetch(LayerProvider& layers, const LayerInfo& info) {
  QuantizedLinear q = layers.get(info.name);
  const LayerInfo got = LayerInfo::of(info.name, q);
  MACA_CHECK(got.rows == info.rows && got.cols == info.cols && got.bits == info.bits &&
                 got.group_size == info.group_size && got.sym == info.sym && got.act_order == info.act_order &&
                 got.static_groups == info.static_groups,
             "export: the layer provider listed '{}' as [{}, {}] bits {} group {} sym {} act-order {} static groups {} "
             "but handed over [{}, {}] bits {} group {} sym {} act-order {} static groups {}",
             info.name, info.rows, info.cols, info.bits, info.group_size, info.sym, info.act_order, info.static_groups,
             q.rows, q.cols, q.bits, q.group_size, q.sym, q.act_order, q.static_groups);
  MACA_CHECK(static_cast<int64_t>(q.codes.size()) == q.rows * q.cols,
             "export: quantized layer '{}' has {} codes for [{}, {}]", info.name, q.codes.size(), q.rows, q.cols);
  return q;
}

nlohmann::json quantization_config(const std::vector<LayerInfo>& layers, GptqFormat format,
                                   const GptqExportOptions& options) {
  const LayerInfo& first = layers.front();
  bool act_order = false, static_groups = false, lm_head = false;
  for (const LayerInfo& q : layers) {
    MACA_CHECK(q.bits == first.bits && q.group_size == first.group_size && q.sym == first.sym,
               "GPTQ export: layer '{}' has bits {}, group size {}, sym {} but layer '{}' has bits {}, group size {}, "
               "sym {}; a GPTQ checkpoint holds one setting for all layers",
               q.name, q.bits, q.group_size, q.sym, first.name, first.bits, first.group_size, first.sym);
    act_order = act_order || q.act_order;
    static_groups = static_groups || q.static_groups;
    lm_head = lm_head || q.name == "lm_head";
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
          {"lm_head", lm_head},
          {"meta", meta}};
}

// The four GPTQ tensors of `info` as pack_gptq_layer writes them. Throws when
// the shape cannot be packed, so that fails before any file is written.
std::vector<SafetensorsEntry> gptq_entries(const LayerInfo& info) {
  MACA_CHECK(info.bits == 2 || info.bits == 3 || info.bits == 4 || info.bits == 8,
             "GPTQ export: layer '{}' has {}-bit codes; a GPTQ checkpoint holds 2, 3, 4 or 8 bits", info.name,
             info.bits);
  const int64_t m = gptq_pack_multiple(info.bits);
  MACA_CHECK(info.rows % m == 0 && info.cols % m == 0,
             "GPTQ export: layer '{}' is [{}, {}]; {}-bit GPTQ packing needs out and in features that are multiples of "
             "{}",
             info.name, info.rows, info.cols, info.bits, m);
  const int64_t groups = info.group_size <= 0 ? 1 : (info.cols + info.group_size - 1) / info.group_size;
  return {{info.name + ".qweight", DType::I32, {info.cols * info.bits / 32, info.rows}},
          {info.name + ".qzeros", DType::I32, {groups, info.rows * info.bits / 32}},
          {info.name + ".scales", DType::F16, {groups, info.rows}},
          {info.name + ".g_idx", DType::I32, {info.cols}}};
}

void create_output_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) MACA_THROW(FileError, "cannot create output directory '{}': {}", dir.string(), ec.message());
}

// Writes every source tensor that is not a quantized weight, cast to `dtype`.
void write_source_tensors(const ModelSource& source, const std::map<std::string, LayerInfo>& quantized, DType dtype,
                          ModelWeightsWriter& out) {
  for (const std::string& name : source.tensor_names())
    if (!quantized.count(name)) out.write(name, cast(source.load(name), dtype));
}

GptqFormat resolve_format(const std::string& name, bool sym) {
  if (name == "auto") return sym ? GptqFormat::V1 : GptqFormat::V2;
  return parse_gptq_format(name, "GPTQ export option checkpoint_format");
}

}  // namespace

void write_gptq_checkpoint(const ModelSource& source, LayerProvider& layers, const fs::path& out_dir,
                           const GptqExportOptions& options) {
  const std::vector<LayerInfo> infos = layers.layers();
  MACA_CHECK(!infos.empty(), "GPTQ export of '{}': no quantized layers given", source.location());
  const std::map<std::string, LayerInfo> quantized = layers_by_weight(source, infos);
  torch_dtype_name(options.dtype);  // rejects unsupported dtypes before any work
  const GptqFormat format = resolve_format(options.checkpoint_format, infos.front().sym);
  const nlohmann::json qc = quantization_config(infos, format, options);

  std::vector<SafetensorsEntry> entries;
  for (const std::string& name : source.tensor_names()) {
    const auto it = quantized.find(name);
    if (it == quantized.end()) {
      entries.push_back({name, options.dtype, source.tensor_shape(name)});
      continue;
    }
    for (SafetensorsEntry& e : gptq_entries(it->second)) entries.push_back(std::move(e));
  }
  create_output_directory(out_dir);
  ModelWeightsWriter out(out_dir, entries, options.max_shard_bytes);
  write_source_tensors(source, quantized, options.dtype, out);
  for (const LayerInfo& info : infos) {
    GptqTensors t = pack_gptq_layer(fetch(layers, info), format, info.name);
    out.write(info.name + ".qweight", t.qweight);
    out.write(info.name + ".qzeros", t.qzeros);
    out.write(info.name + ".scales", t.scales);
    out.write(info.name + ".g_idx", t.g_idx);
  }
  out.commit();

  write_sidecar_files(source, out_dir, options.tokenizer_files);
  nlohmann::json config = base_config(source, options.dtype);
  config["quantization_config"] = qc;
  write_file_atomic(out_dir / "quantize_config.json", qc.dump(2) + "\n");
  write_file_atomic(out_dir / "config.json", config.dump(2) + "\n");
}

void write_gptq_checkpoint(const ModelSource& source, const std::map<std::string, QuantizedLinear>& layers,
                           const fs::path& out_dir, const GptqExportOptions& options) {
  MapLayerProvider provider(layers);
  write_gptq_checkpoint(source, provider, out_dir, options);
}

void write_fake_quant_checkpoint(const ModelSource& source, LayerProvider& layers, const fs::path& out_dir, DType dtype,
                                 uint64_t max_shard_bytes, const TokenizerFiles& tokenizer_files) {
  const std::vector<LayerInfo> infos = layers.layers();
  const std::map<std::string, LayerInfo> quantized = layers_by_weight(source, infos);
  torch_dtype_name(dtype);

  std::vector<SafetensorsEntry> entries;
  for (const std::string& name : source.tensor_names()) entries.push_back({name, dtype, source.tensor_shape(name)});
  create_output_directory(out_dir);
  ModelWeightsWriter out(out_dir, entries, max_shard_bytes);
  write_source_tensors(source, quantized, dtype, out);
  for (const LayerInfo& info : infos) {
    const QuantizedLinear q = fetch(layers, info);
    Tensor w = Tensor::empty({q.rows, q.cols});
    const std::vector<float> values = q.dequantize();
    std::copy(values.begin(), values.end(), w.data<float>());
    out.write(info.name + ".weight", cast(std::move(w), dtype));
  }
  out.commit();

  write_sidecar_files(source, out_dir, tokenizer_files);
  write_file_atomic(out_dir / "config.json", base_config(source, dtype).dump(2) + "\n");
}

void write_fake_quant_checkpoint(const ModelSource& source, const std::map<std::string, QuantizedLinear>& layers,
                                 const fs::path& out_dir, DType dtype) {
  MapLayerProvider provider(layers);
  write_fake_quant_checkpoint(source, provider, out_dir, dtype);
}

}  // namespace maca::io
