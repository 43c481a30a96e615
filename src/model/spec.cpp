#include "model/spec.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace maca::model {
namespace {

using nlohmann::json;

// Typed access to config.json keys with errors that name the source and key.
class ConfigReader {
 public:
  ConfigReader(const json& j, std::string source) : j_(j), source_(std::move(source)) {}

  bool has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  template <class T>
  T get(const std::string& key) const {
    if (!has(key)) MACA_THROW(ConfigError, "{}: config.json has no '{}' (required)", source_, key);
    return convert<T>(key, j_.at(key));
  }
  template <class T>
  T get_or(const std::string& key, T fallback) const {
    return has(key) ? convert<T>(key, j_.at(key)) : fallback;
  }
  int64_t positive(const std::string& key) const { return check_positive(key, get<int64_t>(key)); }
  int64_t positive_or(const std::string& key, int64_t fallback) const {
    return check_positive(key, get_or<int64_t>(key, fallback));
  }
  [[noreturn]] void fail(const std::string& what) const { MACA_THROW(ConfigError, "{}: {}", source_, what); }
  const std::string& source() const { return source_; }

 private:
  template <class T>
  T convert(const std::string& key, const json& v) const {
    const bool ok = std::is_same_v<T, bool>          ? v.is_boolean()
                    : std::is_integral_v<T>          ? v.is_number_integer()
                    : std::is_floating_point_v<T>    ? v.is_number()
                    : std::is_same_v<T, std::string> ? v.is_string()
                                                     : v.is_object() || v.is_array();
    if (!ok) MACA_THROW(ConfigError, "{}: config.json key '{}' has an invalid value {}", source_, key, v.dump());
    return v.get<T>();
  }
  int64_t check_positive(const std::string& key, int64_t v) const {
    if (v <= 0) MACA_THROW(ConfigError, "{}: config.json key '{}' must be positive, got {}", source_, key, v);
    return v;
  }

  const json& j_;
  std::string source_;
};

Arch parse_arch(const ConfigReader& cfg) {
  const auto type = cfg.get<std::string>("model_type");
  if (type == "llama") return Arch::Llama;
  if (type == "qwen2") return Arch::Qwen2;
  if (type == "qwen3") return Arch::Qwen3;
  if (type == "gemma3_text" || type == "gemma3") {
    if (cfg.has("text_config"))
      cfg.fail("multimodal gemma3 configs (with text_config) are not supported; use a text-only gemma3 model");
    return Arch::Gemma3;
  }
  cfg.fail(fmt::format("model_type '{}' is not supported (supported: llama, qwen2, qwen3, gemma3_text)", type));
}

// Rotary inverse frequencies exactly as transformers computes them (fp32
// arithmetic) for the rope types maca supports: default, linear, llama3.
std::vector<float> rope_inv_freq(const ConfigReader& cfg, const json& params, int64_t head_dim) {
  const ConfigReader p(params, cfg.source() + " (rope parameters)");
  if (p.get_or<double>("partial_rotary_factor", 1.0) != 1.0) cfg.fail("partial_rotary_factor != 1 is not supported");
  const auto base = static_cast<float>(p.get<double>("rope_theta"));
  std::vector<float> inv(head_dim / 2);
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv[i] = 1.0f / static_cast<float>(std::pow(static_cast<double>(base), static_cast<double>(e)));
  }
  const auto type = p.has("rope_type") ? p.get<std::string>("rope_type") : p.get_or<std::string>("type", "default");
  if (type == "default") return inv;
  const auto factor = static_cast<float>(p.get<double>("factor"));
  if (type == "linear") {
    for (float& f : inv) f /= factor;
    return inv;
  }
  if (type == "llama3") {
    const auto low = static_cast<float>(p.get<double>("low_freq_factor"));
    const auto high = static_cast<float>(p.get<double>("high_freq_factor"));
    const auto old_len = static_cast<float>(p.get<double>("original_max_position_embeddings"));
    const float low_wavelen = old_len / low, high_wavelen = old_len / high;
    for (float& f : inv) {
      const float wavelen = 2.0f * std::numbers::pi_v<float> / f;
      if (wavelen > low_wavelen) {
        f /= factor;
      } else if (wavelen >= high_wavelen) {
        const float smooth = (old_len / wavelen - low) / (high - low);
        f = (1.0f - smooth) * f / factor + smooth * f;
      }
    }
    return inv;
  }
  cfg.fail(fmt::format("rope type '{}' is not supported (supported: default, linear, llama3)", type));
}

// Rope parameters of one layer kind ("full_attention" | "sliding_attention")
// in the transformers 5 form {rope_type, rope_theta, factor, ...}, built from
// either config format.
json rope_params(const ConfigReader& cfg, Arch arch, const std::string& kind) {
  const bool sliding = kind == "sliding_attention";
  const double default_theta = arch == Arch::Gemma3 ? (sliding ? 10000.0 : 1000000.0) : 10000.0;
  if (cfg.has("rope_parameters")) {
    const auto rp = cfg.get<json>("rope_parameters");
    const bool per_kind = rp.contains("full_attention") || rp.contains("sliding_attention");
    json p = per_kind ? rp.value(kind, json::object()) : rp;
    if (!p.contains("rope_theta")) p["rope_theta"] = default_theta;
    return p;
  }
  // transformers 4.x: rope_theta + rope_scaling; gemma3 local layers use
  // rope_local_base_freq and no scaling.
  json p = json::object();
  if (arch == Arch::Gemma3 && sliding) {
    p["rope_theta"] = cfg.get_or<double>("rope_local_base_freq", default_theta);
    return p;
  }
  if (cfg.has("rope_scaling")) p = cfg.get<json>("rope_scaling");
  p["rope_theta"] = cfg.get_or<double>("rope_theta", default_theta);
  return p;
}

backend::Activation parse_activation(const ConfigReader& cfg, Arch arch) {
  const std::string key = arch == Arch::Gemma3 && cfg.has("hidden_activation") ? "hidden_activation" : "hidden_act";
  const auto act = cfg.get_or<std::string>(key, arch == Arch::Gemma3 ? "gelu_pytorch_tanh" : "silu");
  if (act == "silu" || act == "swish") return backend::Activation::Silu;
  if (act == "gelu_pytorch_tanh") return backend::Activation::GeluTanh;
  cfg.fail(fmt::format("config.json key '{}' = '{}' is not supported (supported: silu, gelu_pytorch_tanh)", key, act));
}

// Which layers use a sliding window and how wide, per transformers' rules:
// layer_types when given, else gemma3's sliding_window_pattern (every n-th
// layer global), qwen's max_window_layers; qwen applies windows only with
// use_sliding_window, llama never.
std::vector<LayerSpec> parse_layers(const ConfigReader& cfg, Arch arch, int64_t n_layers) {
  const bool windowed = arch == Arch::Gemma3 ||
                        ((arch == Arch::Qwen2 || arch == Arch::Qwen3) && cfg.get_or<bool>("use_sliding_window", false));
  std::vector<LayerSpec> layers(n_layers);
  if (!windowed) return layers;
  if (cfg.get_or<bool>("use_bidirectional_attention", false)) cfg.fail("use_bidirectional_attention is not supported");
  const int64_t window = cfg.positive_or("sliding_window", 4096);
  std::vector<bool> sliding(n_layers, false);
  if (cfg.has("layer_types")) {
    const auto types = cfg.get<std::vector<std::string>>("layer_types");
    if (static_cast<int64_t>(types.size()) != n_layers)
      cfg.fail(
          fmt::format("config.json 'layer_types' has {} entries for num_hidden_layers = {}", types.size(), n_layers));
    for (int64_t i = 0; i < n_layers; ++i) {
      if (types[i] != "sliding_attention" && types[i] != "full_attention")
        cfg.fail(fmt::format("config.json 'layer_types'[{}] = '{}' is not supported", i, types[i]));
      sliding[i] = types[i] == "sliding_attention";
    }
  } else if (arch == Arch::Gemma3) {
    const std::string key = cfg.has("sliding_window_pattern") ? "sliding_window_pattern" : "_sliding_window_pattern";
    const int64_t pattern = cfg.positive_or(key, 6);
    for (int64_t i = 0; i < n_layers; ++i) sliding[i] = (i + 1) % pattern != 0;
  } else {
    const int64_t first = cfg.get_or<int64_t>("max_window_layers", n_layers);
    for (int64_t i = first; i < n_layers; ++i) sliding[i] = true;
  }
  for (int64_t i = 0; i < n_layers; ++i) layers[i] = {sliding[i], sliding[i] ? window : 0};
  return layers;
}

}  // namespace

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::Llama:
      return "llama";
    case Arch::Qwen2:
      return "qwen2";
    case Arch::Qwen3:
      return "qwen3";
    case Arch::Gemma3:
      return "gemma3";
  }
  return "?";
}

ModelSpec ModelSpec::from_hf_config(const nlohmann::json& config, const std::string& source_name) {
  const ConfigReader cfg(config, source_name);
  ModelSpec s;
  s.source = source_name;
  s.arch = parse_arch(cfg);
  const bool gemma = s.arch == Arch::Gemma3;
  s.hidden = cfg.positive("hidden_size");
  s.intermediate = cfg.positive("intermediate_size");
  s.n_layers = cfg.positive("num_hidden_layers");
  s.vocab = cfg.positive("vocab_size");
  s.n_heads = cfg.positive("num_attention_heads");
  s.n_kv_heads = cfg.positive_or("num_key_value_heads", s.n_heads);
  s.head_dim = cfg.positive_or("head_dim", s.hidden / s.n_heads);
  if (s.n_heads % s.n_kv_heads != 0)
    cfg.fail(
        fmt::format("num_attention_heads = {} is not a multiple of num_key_value_heads = {}", s.n_heads, s.n_kv_heads));
  if (s.head_dim % 2 != 0) cfg.fail(fmt::format("head_dim = {} must be even for rotary embeddings", s.head_dim));
  s.rms_eps = static_cast<float>(cfg.get_or<double>("rms_norm_eps", 1e-6));
  s.tie_embeddings = cfg.get_or<bool>("tie_word_embeddings", gemma);

  const bool attention_bias = cfg.get_or<bool>("attention_bias", false);
  s.qkv_bias = s.arch == Arch::Qwen2 || attention_bias;
  s.o_bias = s.arch != Arch::Qwen2 && attention_bias;
  s.mlp_bias = s.arch == Arch::Llama && cfg.get_or<bool>("mlp_bias", false);
  s.qk_norm = s.arch == Arch::Qwen3 || gemma;
  s.norm_unit_offset = gemma;
  s.sandwich_norms = gemma;
  s.activation = parse_activation(cfg, s.arch);
  for (const char* key : {"final_logit_softcapping", "attn_logit_softcapping"})
    if (cfg.has(key)) cfg.fail(fmt::format("config.json '{}' (logit soft-capping) is not supported", key));

  s.embed_scale = gemma ? static_cast<float>(std::sqrt(static_cast<double>(s.hidden))) : 1.0f;
  s.attn_scale = static_cast<float>(
      std::pow(gemma ? cfg.get_or<double>("query_pre_attn_scalar", 256.0) : static_cast<double>(s.head_dim), -0.5));

  s.inv_freq_full = rope_inv_freq(cfg, rope_params(cfg, s.arch, "full_attention"), s.head_dim);
  s.inv_freq_sliding = rope_inv_freq(cfg, rope_params(cfg, s.arch, "sliding_attention"), s.head_dim);
  s.layers = parse_layers(cfg, s.arch, s.n_layers);
  return s;
}

}  // namespace maca::model
