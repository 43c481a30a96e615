#include "io/gguf_model.h"

#include <cmath>
#include <cstring>
#include <numbers>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "io/gguf.h"

namespace maca::io {
namespace {

using nlohmann::json;

// What the GGUF converter did to an architecture, and its HF names.
struct Arch {
  const char* gguf;
  const char* model_type;
  const char* hf_class;
  double default_rope_theta;  // HF config default when the key is absent
  bool permuted_qk;           // llama.cpp permuted q/k rows
  bool norm_plus_one;         // norms stored as 1 + w
};

constexpr Arch kArchs[] = {
    {"llama", "llama", "LlamaForCausalLM", 10000.0, true, false},
    {"qwen2", "qwen2", "Qwen2ForCausalLM", 10000.0, false, false},
    {"qwen3", "qwen3", "Qwen3ForCausalLM", 10000.0, false, false},
    {"gemma3", "gemma3_text", "Gemma3ForCausalLM", 1000000.0, false, true},
};

// Gemma3 alternates 5 sliding-window layers with one global layer.
constexpr int kGemma3GlobalEvery = 6;
constexpr double kGemma3LocalRopeBase = 10000.0;  // HF default; GGUF has no key for it

// llama3 rope scaling parameters of every Llama 3.x release.
constexpr double kLlama3LowFreqFactor = 1.0;
constexpr double kLlama3HighFreqFactor = 4.0;
constexpr double kLlama3OriginalContext = 8192.0;

// Per-layer GGUF stem -> HF suffix (after "model.layers.N.").
const std::unordered_map<std::string, std::string>& layer_names(const Arch& a) {
  static const std::unordered_map<std::string, std::string> common = {
      {"attn_q", "self_attn.q_proj"},        {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},        {"attn_output", "self_attn.o_proj"},
      {"attn_q_norm", "self_attn.q_norm"},   {"attn_k_norm", "self_attn.k_norm"},
      {"ffn_gate", "mlp.gate_proj"},         {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},         {"attn_norm", "input_layernorm"},
      {"ffn_norm", "post_attention_layernorm"},
  };
  static const std::unordered_map<std::string, std::string> gemma = [] {
    auto m = common;
    m["post_attention_norm"] = "post_attention_layernorm";
    m["ffn_norm"] = "pre_feedforward_layernorm";
    m["post_ffw_norm"] = "post_feedforward_layernorm";
    return m;
  }();
  return a.norm_plus_one ? gemma : common;
}

enum class Fix { None, UnpermuteQ, UnpermuteK, MinusOne };

struct Entry {
  const GgufTensorInfo* info;
  Fix fix;
};

// The shortest decimal that round-trips the float32 a GGUF file stored, so
// that 1e-5 reads back as 1e-5 and not 9.999999747378752e-06.
double f32_value(double v) { return std::stod(fmt::format("{}", static_cast<float>(v))); }

class GgufModel final : public ModelSource {
 public:
  explicit GgufModel(std::shared_ptr<GgufFile> file) : file_(std::move(file)) {
    const std::string arch_name = file_->get_string("general.architecture");
    for (const Arch& a : kArchs)
      if (arch_name == a.gguf) arch_ = &a;
    if (!arch_)
      fail(fmt::format("architecture '{}' is not supported (general.architecture)", arch_name),
           "maca reads llama, qwen2, qwen3 and gemma3 GGUF files");
    map_tensors();
    build_config();
  }

  const json& config() const override { return config_; }

  std::vector<std::string> tensor_names() const override { return names_; }
  bool has_tensor(const std::string& name) const override { return entries_.count(name) != 0; }

  Shape tensor_shape(const std::string& name) const override {
    const auto& ne = entry(name).info->ne;
    return Shape(ne.rbegin(), ne.rend());
  }

  Tensor load(const std::string& name) const override {
    const Entry& e = entry(name);
    Tensor t = file_->dequantize(*e.info);
    switch (e.fix) {
      case Fix::None: return t;
      case Fix::UnpermuteQ: return unpermute_llama_qk(t, config_.at("num_attention_heads").get<int64_t>());
      case Fix::UnpermuteK: return unpermute_llama_qk(t, config_.at("num_key_value_heads").get<int64_t>());
      case Fix::MinusOne: {
        float* p = t.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] - 1.0f;
        return t;
      }
    }
    return t;
  }

  std::string location() const override { return file_->path().string(); }
  std::vector<std::filesystem::path> files() const override { return {file_->path()}; }

 private:
  [[noreturn]] void fail(const std::string& what, const std::string& hint) const {
    MACA_THROW(FileError, "GGUF '{}': {}; {}", file_->path().string(), what, hint);
  }

  const Entry& entry(const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end())
      MACA_THROW(FileError, "GGUF '{}' has no tensor '{}' (HF name); tensor_names() lists what it holds",
                 file_->path().string(), name);
    return it->second;
  }

  std::string key(const std::string& k) const { return std::string(arch_->gguf) + "." + k; }

  // An architecture hyperparameter that must be a positive integer.
  int64_t positive(const std::string& k) const {
    const int64_t v = file_->get_int(key(k));
    if (v <= 0) fail(fmt::format("{} is {}", key(k), v), "a model hyperparameter must be positive");
    return v;
  }

  // The HF name of a GGUF tensor, or nullopt for one this mapping does not know.
  std::optional<std::string> hf_name(const std::string& g) const {
    if (g == "token_embd.weight") return "model.embed_tokens.weight";
    if (g == "output_norm.weight") return "model.norm.weight";
    if (g == "output.weight") return "lm_head.weight";
    if (g.rfind("blk.", 0) != 0) return std::nullopt;
    const size_t dot1 = g.find('.', 4);
    const size_t dot2 = g.rfind('.');
    if (dot1 == std::string::npos || dot2 <= dot1) return std::nullopt;
    const std::string layer = g.substr(4, dot1 - 4);
    if (layer.empty() || layer.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const std::string suffix = g.substr(dot2 + 1);
    if (suffix != "weight" && suffix != "bias") return std::nullopt;
    const auto& names = layer_names(*arch_);
    const auto it = names.find(g.substr(dot1 + 1, dot2 - dot1 - 1));
    if (it == names.end()) return std::nullopt;
    return "model.layers." + layer + "." + it->second + "." + suffix;
  }

  void map_tensors() {
    for (const GgufTensorInfo& t : file_->tensors()) {
      if (t.name == "rope_freqs.weight") continue;  // becomes config.rope_scaling
      const auto name = hf_name(t.name);
      if (!name)
        fail(fmt::format("tensor '{}' has no HF counterpart in a {} model", t.name, arch_->gguf),
             "the file holds parts maca does not model (e.g. vision or MoE); use a text-only dense model");
      Fix fix = Fix::None;
      if (arch_->permuted_qk && t.name.ends_with(".attn_q.weight")) fix = Fix::UnpermuteQ;
      if (arch_->permuted_qk && t.name.ends_with(".attn_k.weight")) fix = Fix::UnpermuteK;
      if (arch_->norm_plus_one && t.name.ends_with("norm.weight")) fix = Fix::MinusOne;
      entries_.emplace(*name, Entry{&t, fix});
      names_.push_back(*name);
    }
    if (!entries_.count("model.embed_tokens.weight"))
      fail("there is no token_embd.weight tensor", "the file is not a complete model");
  }

  void build_config() {
    const GgufFile& f = *file_;
    json& c = config_;
    c["model_type"] = arch_->model_type;
    c["architectures"] = json::array({arch_->hf_class});
    c["torch_dtype"] = "float32";
    const int64_t hidden = positive("embedding_length");
    const int64_t heads = positive("attention.head_count");
    if (hidden % heads != 0)
      fail(fmt::format("{} = {} does not divide the embedding length {}", key("attention.head_count"), heads, hidden),
           "the metadata is inconsistent");
    c["hidden_size"] = hidden;
    c["intermediate_size"] = positive("feed_forward_length");
    const int64_t layers = positive("block_count");
    if (layers > static_cast<int64_t>(f.tensors().size()))
      fail(fmt::format("{} = {} but the file holds only {} tensors", key("block_count"), layers, f.tensors().size()),
           "the metadata is inconsistent");
    c["num_hidden_layers"] = layers;
    c["num_attention_heads"] = heads;
    c["num_key_value_heads"] = f.find(key("attention.head_count_kv")) ? positive("attention.head_count_kv") : heads;
    const int64_t head_dim = f.find(key("attention.key_length")) ? positive("attention.key_length") : hidden / heads;
    c["head_dim"] = head_dim;
    c["rms_norm_eps"] = f32_value(f.get_float(key("attention.layer_norm_rms_epsilon")));
    const double theta =
        f.find(key("rope.freq_base")) ? f32_value(f.get_float(key("rope.freq_base"))) : arch_->default_rope_theta;
    c["rope_theta"] = theta;
    c["max_position_embeddings"] = f.get_int(key("context_length"));
    c["vocab_size"] = entries_.at("model.embed_tokens.weight").info->ne.at(1);
    c["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;
    c["rope_scaling"] = rope_scaling(head_dim, theta);
    c["attention_bias"] = f.find_tensor("blk.0.attn_q.bias") != nullptr;
    c["attention_dropout"] = 0.0;
    for (const auto& [gguf_key, hf_key] : {std::pair{"bos_token_id", "bos_token_id"}, {"eos_token_id", "eos_token_id"},
                                          {"padding_token_id", "pad_token_id"}})
      if (f.find(std::string("tokenizer.ggml.") + gguf_key))
        c[hf_key] = f.get_int(std::string("tokenizer.ggml.") + gguf_key);
    if (arch_->norm_plus_one) {
      gemma3_config(head_dim);
    } else {
      c["hidden_act"] = "silu";
      c["mlp_bias"] = false;
    }
  }

  void gemma3_config(int64_t head_dim) {
    const GgufFile& f = *file_;
    json& c = config_;
    c["hidden_activation"] = "gelu_pytorch_tanh";
    c["sliding_window"] = f.find(key("attention.sliding_window")) ? json(f.get_int(key("attention.sliding_window")))
                                                                  : json(nullptr);
    c["sliding_window_pattern"] = kGemma3GlobalEvery;
    c["rope_local_base_freq"] = kGemma3LocalRopeBase;
    json types = json::array();
    for (int64_t i = 0; i < c["num_hidden_layers"].get<int64_t>(); ++i)
      types.push_back((i + 1) % kGemma3GlobalEvery == 0 ? "full_attention" : "sliding_attention");
    c["layer_types"] = types;
    c["query_pre_attn_scalar"] = f.find(key("attention.query_pre_attn_scalar"))
                                     ? json(f.get_float(key("attention.query_pre_attn_scalar")))
                                     : json(head_dim);
    for (const char* cap : {"final_logit_softcapping", "attn_logit_softcapping"})
      c[cap] = f.find(key(cap)) ? json(f32_value(f.get_float(key(cap)))) : json(nullptr);
  }

  // rope_scaling from the `rope.scaling.*` keys or a llama3 rope_freqs tensor.
  json rope_scaling(int64_t head_dim, double theta) const {
    const GgufFile& f = *file_;
    if (const GgufTensorInfo* freqs = f.find_tensor("rope_freqs.weight")) return llama3_scaling(*freqs, head_dim, theta);
    if (!f.find(key("rope.scaling.type"))) return nullptr;
    const std::string type = f.get_string(key("rope.scaling.type"));
    if (type == "none") return nullptr;
    json s = {{"rope_type", type}, {"factor", f32_value(f.get_float(key("rope.scaling.factor")))}};
    if (type == "yarn") s["original_max_position_embeddings"] = f.get_int(key("rope.scaling.original_context_length"));
    else if (type != "linear")
      fail(fmt::format("{} is '{}'", key("rope.scaling.type"), type), "maca supports linear, yarn and llama3 scaling");
    return s;
  }

  // Recovers llama3 scaling (factor from the largest entry, standard low/high
  // factors) and checks that it reproduces every stored factor.
  json llama3_scaling(const GgufTensorInfo& info, int64_t head_dim, double theta) const {
    const Tensor t = file_->dequantize(info);
    const float* r = t.data<float>();
    if (t.numel() != head_dim / 2) fail("rope_freqs.weight does not have head_dim/2 entries", "the file is damaged");
    float factor = 1.0f;
    for (int64_t i = 0; i < t.numel(); ++i) factor = std::max(factor, r[i]);
    const double low_wavelen = kLlama3OriginalContext / kLlama3LowFreqFactor;
    const double high_wavelen = kLlama3OriginalContext / kLlama3HighFreqFactor;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double freq = 1.0 / std::pow(theta, 2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
      const double wavelen = 2.0 * std::numbers::pi / freq;
      double want = factor;
      if (wavelen < high_wavelen) {
        want = 1.0;
      } else if (wavelen <= low_wavelen) {
        const double smooth = (kLlama3OriginalContext / wavelen - kLlama3LowFreqFactor) /
                              (kLlama3HighFreqFactor - kLlama3LowFreqFactor);
        want = 1.0 / ((1.0 - smooth) / factor + smooth);
      }
      if (std::abs(want - r[i]) > 1e-3 * want)
        fail(fmt::format("rope_freqs.weight[{}] = {} does not match llama3 scaling (factor {}, low/high 1/4, "
                         "original context 8192), which predicts {}",
                         i, r[i], factor, want),
             "this rope scaling variant is not supported");
    }
    return {{"rope_type", "llama3"},
            {"factor", f32_value(factor)},
            {"low_freq_factor", kLlama3LowFreqFactor},
            {"high_freq_factor", kLlama3HighFreqFactor},
            {"original_max_position_embeddings", static_cast<int64_t>(kLlama3OriginalContext)}};
  }

  std::shared_ptr<GgufFile> file_;
  const Arch* arch_ = nullptr;
  std::unordered_map<std::string, Entry> entries_;
  std::vector<std::string> names_;  // file order
  json config_;
};

}  // namespace

Tensor unpermute_llama_qk(const Tensor& w, int64_t n_head) {
  const int64_t rows = w.dim(0);
  MACA_CHECK(n_head > 0 && rows > 0 && rows % (2 * n_head) == 0, "cannot un-permute {} rows over {} heads (need 2*heads | rows)",
             rows, n_head);
  const Tensor src = w.to_f32();
  const int64_t cols = src.numel() / rows;
  const int64_t half = rows / n_head / 2;
  Tensor out = Tensor::empty(src.shape());
  const float* in = src.data<float>();
  float* o = out.data<float>();
  // Stored row (h, j, s) of the view (heads, half, 2) is HF row (h, s, j).
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < half; ++j)
      for (int64_t s = 0; s < 2; ++s)
        std::memcpy(o + ((h * 2 + s) * half + j) * cols, in + ((h * half + j) * 2 + s) * cols,
                    static_cast<size_t>(cols) * sizeof(float));
  return out;
}

std::unique_ptr<ModelSource> open_gguf_model(const std::filesystem::path& path) {
  return std::make_unique<GgufModel>(GgufFile::open(path));
}

}  // namespace maca::io
