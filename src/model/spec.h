// ModelSpec: the architecture of a decoder-only model, parsed from an HF
// config.json (the same view a GGUF source synthesizes).
//
// Supported model_type values: llama, qwen2, qwen3, gemma3_text (and gemma3
// with the text keys at the top level). Both config formats transformers
// writes are read: the 4.x one (rope_theta + rope_scaling, gemma3's
// rope_local_base_freq and sliding_window_pattern) and the 5.x one
// (rope_parameters, flat or per layer type, and layer_types). Everything the
// block forward needs is resolved here once, including the rotary inverse
// frequencies of each layer kind, so the forward pass holds no config logic.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "backend/ops.h"

namespace maca::model {

enum class Arch { Llama, Qwen2, Qwen3, Gemma3 };
const char* arch_name(Arch arch);

// Attention of one layer: the rotary frequencies it uses and its window.
struct LayerSpec {
  bool sliding = false;        // a gemma3 local (or qwen2 sliding-window) layer
  int64_t sliding_window = 0;  // keys each query sees, itself included; 0 = full causal
};

struct ModelSpec {
  Arch arch = Arch::Llama;
  std::string source;  // where the config came from, for messages

  int64_t hidden = 0, intermediate = 0, n_layers = 0, vocab = 0;
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  float rms_eps = 1e-6f;
  bool tie_embeddings = false;

  bool qkv_bias = false;  // q/k/v projections carry a bias (qwen2; attention_bias elsewhere)
  bool o_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;           // per-head RMSNorm of q and k before rope (qwen3, gemma3)
  bool norm_unit_offset = false;  // gemma's x·(1 + w) RMSNorm
  bool sandwich_norms = false;    // gemma3 post-attention and pre/post feed-forward norms
  backend::Activation activation = backend::Activation::Silu;
  float embed_scale = 1.0f;  // gemma3: sqrt(hidden) rounded to fp32
  float attn_scale = 1.0f;   // head_dim^-0.5, gemma3 query_pre_attn_scalar^-0.5

  std::vector<float> inv_freq_full;     // rotary inverse frequencies of full-attention layers
  std::vector<float> inv_freq_sliding;  // ... of sliding-window layers
  std::vector<LayerSpec> layers;

  // Parses an HF config.json. Throws ConfigError naming `source_name` and the
  // key for a missing or invalid key, and for an unsupported model_type or
  // feature (rope type, logit soft-capping, partial rotary).
  static ModelSpec from_hf_config(const nlohmann::json& config, const std::string& source_name);

  std::span<const float> inv_freq(int layer) const {
    return layers.at(layer).sliding ? inv_freq_sliding : inv_freq_full;
  }
};

}  // namespace maca::model
