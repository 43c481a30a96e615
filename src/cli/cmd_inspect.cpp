#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.h"
#include "config/search.h"
#include "io/model_source.h"

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

int inspect(const config::Config& cfg) {
  const std::filesystem::path path = config::find_model(cfg.get_string("model.path"));
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
  return 0;
}

}  // namespace

Command inspect_command() {
  return {.name = "inspect",
          .summary = "architecture, tensors, parameter count and files of a model",
          .description =
              "Opens a model (HF directory, .gguf file or short name such as smollm2-135m) without loading\n"
              "its weights and prints its architecture, tensor count, parameters and files.",
          .sections = {"model", "inspect", "run"},
          .flags = {{"model", "model.path", "PATH"}, {"tensors", "inspect.tensors", ""}},
          .positional_flag = "model",
          .logs_config = false,
          .run = inspect};
}

}  // namespace maca::cli
