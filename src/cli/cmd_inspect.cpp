#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "cli/commands.h"
#include "config/search.h"
#include "core/error.h"
#include "io/gptq_model.h"
#include "io/gguf.h"
#include "io/model_source.h"
#include "tokenizer/tokenizer.h"

namespace maca::cli {
namespace {

std::string human_bytes(std::uintmax_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

// The architecture fields of an HF config.json worth a glance.
void print_architecture(const nlohmann::json& config) {
  static const char* const kKeys[] = {
      "architectures",       "model_type",          "hidden_size",      "intermediate_size",
      "num_hidden_layers",   "num_attention_heads", "num_key_value_heads", "head_dim",
      "vocab_size",          "max_position_embeddings", "rope_theta",  "rms_norm_eps",
      "sliding_window",      "tie_word_embeddings", "torch_dtype"};
  fmt::print("architecture:\n");
  for (const char* key : kKeys)
    if (config.contains(key)) fmt::print("  {}: {}\n", key, config[key].dump());
}

// Per quantized layer of a GPTQ checkpoint: shape, settings, packed vs fp16
// size, and a full unpack with every consistency check (gptq_pack's
// unpack_gptq_layer). Returns the number of layers that failed.
int check_gptq(const std::filesystem::path& dir) {
  const io::GptqCheckpoint ckpt(dir);
  const io::GptqSettings& s = ckpt.settings();
  fmt::print("gptq: {} layers, {}-bit, group size {}, {}, desc_act {}, static_groups {}, checkpoint_format {}\n",
             ckpt.layers().size(), s.bits, s.group_size, s.sym ? "sym" : "asym", s.desc_act, s.static_groups,
             io::gptq_format_name(s.format));
  std::uintmax_t packed_total = 0, fp16_total = 0;
  std::vector<std::string> failed;
  for (const std::string& layer : ckpt.layers()) {
    try {
      const io::GptqTensors t = ckpt.tensors(layer);
      const std::uintmax_t packed = t.qweight.nbytes() + t.qzeros.nbytes() + t.scales.nbytes() + t.g_idx.nbytes();
      const QuantizedLinear q = ckpt.unpack(layer);
      const std::uintmax_t fp16 = static_cast<std::uintmax_t>(q.rows * q.cols * 2);
      packed_total += packed, fp16_total += fp16;
      fmt::print("  {} [{}, {}] {}-bit g{} {} {} {} packed {} / fp16 {} ok\n", layer, q.rows, q.cols, q.bits,
                 q.group_size, q.sym ? "sym" : "asym", q.act_order ? "act-order" : "in-order",
                 io::gptq_format_name(s.format), human_bytes(packed), human_bytes(fp16));
    } catch (const Error& e) {
      failed.push_back(layer);
      fmt::print("  {} FAILED: {}\n", layer, e.what());
    }
  }
  if (failed.empty()) {
    fmt::print("gptq check: all {} layers ok; packed {} vs fp16 {} ({:.2f}x smaller)\n", ckpt.layers().size(),
               human_bytes(packed_total), human_bytes(fp16_total),
               packed_total ? static_cast<double>(fp16_total) / static_cast<double>(packed_total) : 0.0);
  } else {
    fmt::print("gptq check: {} of {} layers FAILED, first: {}\n", failed.size(), ckpt.layers().size(),
               failed.front());
  }
  return static_cast<int>(failed.size());
}

// The chat template a model ships (GGUF `tokenizer.chat_template`, or
// tokenizer_config.json's `chat_template` in an HF directory); empty if none.
std::string chat_template(const std::filesystem::path& path) {
  if (path.extension() == ".gguf") {
    const auto gguf = io::GgufFile::open(path);
    return gguf->find("tokenizer.chat_template") ? gguf->get_string("tokenizer.chat_template") : std::string();
  }
  const auto file = path / "tokenizer_config.json";
  if (!std::filesystem::is_regular_file(file)) return {};
  std::ifstream in(file);
  const auto j = nlohmann::json::parse(in, nullptr, false);
  return j.is_object() && j.contains("chat_template") && j["chat_template"].is_string()
             ? j["chat_template"].get<std::string>()
             : std::string();
}

// Vocabulary size, BOS/EOS and the chat template, so a generation template
// (gen.template) can be written from what the model expects.
void print_tokenizer(const std::filesystem::path& path) {
  try {
    const auto tok = tokenizer::load_tokenizer(path);
    auto token = [&](std::optional<int32_t> id) {
      return id ? fmt::format("{} {}", *id, nlohmann::json(tok.decode(std::vector<int32_t>{*id})).dump())
                : std::string("none");
    };
    fmt::print("tokenizer: {} tokens, bos {}, eos {}\n", tok.vocab_size(), token(tok.bos_id()), token(tok.eos_id()));
  } catch (const Error& e) {
    fmt::print("tokenizer: not loaded ({})\n", e.what());
  }
  const std::string tmpl = chat_template(path);
  if (tmpl.empty())
    fmt::print("chat_template: none\n");
  else
    fmt::print("chat_template (copy its role markers into gen.template):\n{}\n", tmpl);
}

int inspect(const config::Config& cfg) {
  std::filesystem::path path = config::find_model(cfg.get_string("model.path"));
  if (std::filesystem::is_regular_file(path / "gptq" / "config.json")) path /= "gptq";  // a run directory
  const auto model = io::open_model(path);
  fmt::print("model: {}\n", model->location());
  print_architecture(model->config());

  const auto names = model->tensor_names();
  fmt::print("tensors: {}\n", names.size());
  std::int64_t params = 0;
  for (const std::string& name : names) {
    const Shape shape = model->tensor_shape(name);
    params += shape_numel(shape);
    if (cfg.get_bool("inspect.tensors")) fmt::print("  {} {}\n", name, shape_str(shape));
  }
  fmt::print("parameters: {} ({:.1f} M)\n", params, static_cast<double>(params) / 1e6);

  std::uintmax_t total = 0;
  fmt::print("files:\n");
  for (const auto& f : model->files()) {
    const auto size = std::filesystem::file_size(f);
    total += size;
    fmt::print("  {} ({})\n", f.string(), human_bytes(size));
  }
  fmt::print("total size: {} ({} bytes)\n", human_bytes(total), total);
  print_tokenizer(path);
  if (io::is_gptq_config(model->config()) && check_gptq(path) > 0) return 1;
  return 0;
}

}  // namespace

Command inspect_command() {
  return {.name = "inspect",
          .summary = "architecture, tensors, parameter count and files of a model; checks GPTQ checkpoints",
          .description =
              "Opens a model (HF directory, .gguf file or short name such as smollm2-135m) without loading\n"
              "its weights and prints its architecture, tensor count, parameters, files, tokenizer (size, BOS,\n"
              "EOS) and chat template (the role markers to put into gen.template).\n"
              "For a GPTQ checkpoint (or a run directory holding gptq/) it also lists every quantized layer\n"
              "(shape, bits, group size, sym, act-order, format, packed vs fp16 size) after unpacking it in\n"
              "full and checking codes, zero points, scales and g_idx; it exits with 1 when a layer fails.",
          .sections = {"model", "inspect", "run"},
          .flags = {{"model", "model.path", "PATH"}, {"tensors", "inspect.tensors", ""}},
          .positional_flag = "model",
          .logs_config = false,
          .run = inspect};
}

}  // namespace maca::cli
