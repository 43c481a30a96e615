#include "model/model.h"

#include <fmt/format.h>

#include "backend/ops.h"
#include "core/error.h"

namespace maca::model {

const char* linear_group_name(LinearGroup g) {
  switch (g) {
    case LinearGroup::Qkv:
      return "qkv";
    case LinearGroup::O:
      return "o";
    case LinearGroup::GateUp:
      return "gate_up";
    case LinearGroup::Down:
      return "down";
  }
  return "?";
}

Model::Model(const io::ModelSource& src, backend::Context& ctx)
    : src_(&src), ctx_(&ctx), spec_(ModelSpec::from_hf_config(src.config(), src.location())) {}

Tensor Model::load_checked(const std::string& name, const Shape& expected) const {
  const Shape actual = src_->tensor_shape(name);
  if (actual != expected)
    MACA_THROW(Error, "{}: tensor '{}' has shape {}, but config.json implies {}", src_->location(), name,
               shape_str(actual), shape_str(expected));
  return ctx_->to_device(src_->load(name));
}

const Tensor& Model::embedding_table() const {
  const std::lock_guard lock(embed_mutex_);
  if (!embed_table_.defined()) embed_table_ = load_checked("model.embed_tokens.weight", {spec_.vocab, spec_.hidden});
  return embed_table_;
}

void Model::release_embedding() const {
  const std::lock_guard lock(embed_mutex_);
  embed_table_ = Tensor();
}

void Model::load_head() const {
  std::call_once(head_once_, [&] {
    final_norm_ = load_checked("model.norm.weight", {spec_.hidden});
    lm_head_ = spec_.tie_embeddings ? embedding_table() : load_checked("lm_head.weight", {spec_.vocab, spec_.hidden});
  });
}

Tensor Model::embed(std::span<const int32_t> tokens) const {
  const Tensor& table = embedding_table();
  Tensor out = ctx_->empty({static_cast<int64_t>(tokens.size()), spec_.hidden});
  backend::embedding(*ctx_, table, tokens, spec_.embed_scale, out);
  return out;
}

BlockWeights Model::load_block(int b) const {
  MACA_CHECK(b >= 0 && b < spec_.n_layers, "block {} requested from {} with {} blocks", b, src_->location(),
             spec_.n_layers);
  const std::string p = fmt::format("model.layers.{}.", b);
  const int64_t h = spec_.hidden, inter = spec_.intermediate, d = spec_.head_dim;
  const int64_t q_out = spec_.n_heads * d, kv_out = spec_.n_kv_heads * d;
  auto load = [&](const std::string& name, Shape shape) { return load_checked(p + name, shape); };
  auto load_if = [&](bool present, const std::string& name, Shape shape) {
    return present ? load(name, std::move(shape)) : Tensor();
  };

  BlockWeights w;
  w.input_norm = load("input_layernorm.weight", {h});
  w.q = load("self_attn.q_proj.weight", {q_out, h});
  w.k = load("self_attn.k_proj.weight", {kv_out, h});
  w.v = load("self_attn.v_proj.weight", {kv_out, h});
  w.o = load("self_attn.o_proj.weight", {h, q_out});
  w.q_bias = load_if(spec_.qkv_bias, "self_attn.q_proj.bias", {q_out});
  w.k_bias = load_if(spec_.qkv_bias, "self_attn.k_proj.bias", {kv_out});
  w.v_bias = load_if(spec_.qkv_bias, "self_attn.v_proj.bias", {kv_out});
  w.o_bias = load_if(spec_.o_bias, "self_attn.o_proj.bias", {h});
  w.q_norm = load_if(spec_.qk_norm, "self_attn.q_norm.weight", {d});
  w.k_norm = load_if(spec_.qk_norm, "self_attn.k_norm.weight", {d});
  if (spec_.sandwich_norms) {
    w.post_attn_norm = load("post_attention_layernorm.weight", {h});
    w.pre_mlp_norm = load("pre_feedforward_layernorm.weight", {h});
    w.post_mlp_norm = load("post_feedforward_layernorm.weight", {h});
  } else {
    w.pre_mlp_norm = load("post_attention_layernorm.weight", {h});
  }
  w.gate = load("mlp.gate_proj.weight", {inter, h});
  w.up = load("mlp.up_proj.weight", {inter, h});
  w.down = load("mlp.down_proj.weight", {h, inter});
  w.gate_bias = load_if(spec_.mlp_bias, "mlp.gate_proj.bias", {inter});
  w.up_bias = load_if(spec_.mlp_bias, "mlp.up_proj.bias", {inter});
  w.down_bias = load_if(spec_.mlp_bias, "mlp.down_proj.bias", {h});
  return w;
}

void Model::forward_block(const BlockWeights& w, int b, Tensor& hidden, std::span<const int64_t> seq_lens,
                          const CaptureFn* capture, std::optional<LinearGroup> stop_after) const {
  run_block(w, b, hidden, seq_lens, nullptr, capture, stop_after);
}

void Model::forward_block(const BlockWeights& w, int b, Tensor& hidden, KvCache& cache, const KvStep& step) const {
  const Cached cached{&cache, &step};
  run_block(w, b, hidden, step.lens, &cached, nullptr, {});
}

Model::BufferReuse::BufferReuse(const Model& model) : model_(&model) { ++model.reuse_scopes_; }

Model::BufferReuse::~BufferReuse() {
  if (--model_->reuse_scopes_ == 0) model_->kept_ = {};
}

Tensor Model::buffer(Buffer which, Shape shape) const {
  if (reuse_scopes_ == 0) return ctx_->empty(std::move(shape));
  Tensor& kept = kept_[static_cast<size_t>(which)];
  if (!kept.defined() || kept.shape() != shape || !kept.sole_owner()) {
    kept = Tensor();  // dropped first, so the old and the new never coexist
    kept = ctx_->empty(std::move(shape));
  }
  return kept;
}

void Model::run_block(const BlockWeights& w, int b, Tensor& hidden, std::span<const int64_t> seq_lens,
                      const Cached* cached, const CaptureFn* capture, std::optional<LinearGroup> stop_after) const {
  backend::Context& ctx = *ctx_;
  // With a cache the rows are one GEMM operand (decoding steps bring one row
  // per sequence); without, tiles follow the sequences (see backend::linear).
  const std::span<const int64_t> linear_lens = cached ? std::span<const int64_t>() : seq_lens;
  const ModelSpec& s = spec_;
  const int64_t tokens = hidden.dim(0), hq = s.n_heads, hkv = s.n_kv_heads, d = s.head_dim;
  MACA_ASSERT(hidden.ndim() == 2 && hidden.dim(1) == s.hidden, "forward_block: hidden {}", hidden.str());
  // True when the forward should stop after this capture.
  auto captured = [&](LinearGroup g, const Tensor& input) {
    if (capture) (*capture)(b, g, input);
    return stop_after == g;
  };
  const float eps = s.rms_eps;
  const bool unit = s.norm_unit_offset;

  // Attention.
  Tensor x = buffer(Buffer::Normed, {tokens, s.hidden});
  backend::rmsnorm(ctx, hidden, w.input_norm, eps, unit, x);
  if (captured(LinearGroup::Qkv, x)) return;
  Tensor q = buffer(Buffer::Q, {tokens, hq * d}), k = buffer(Buffer::K, {tokens, hkv * d}),
         v = buffer(Buffer::V, {tokens, hkv * d});
  backend::linear(ctx, x, w.q, w.q_bias, linear_lens, q);
  backend::linear(ctx, x, w.k, w.k_bias, linear_lens, k);
  backend::linear(ctx, x, w.v, w.v_bias, linear_lens, v);
  q = q.reshape({tokens, hq, d});
  k = k.reshape({tokens, hkv, d});
  v = v.reshape({tokens, hkv, d});
  if (s.qk_norm) {
    Tensor q_rows = q.reshape({tokens * hq, d}), k_rows = k.reshape({tokens * hkv, d});
    backend::rmsnorm(ctx, q_rows, w.q_norm, eps, unit, q_rows);
    backend::rmsnorm(ctx, k_rows, w.k_norm, eps, unit, k_rows);
  }
  Tensor attn = buffer(Buffer::Attn, {tokens, hq, d});
  if (cached) {
    const std::vector<int64_t> start = cached->cache->start_positions(*cached->step);
    backend::rope(ctx, q, seq_lens, s.inv_freq(b), start);
    backend::rope(ctx, k, seq_lens, s.inv_freq(b), start);
    const std::vector<backend::CachedSeq> seqs = cached->cache->append(b, *cached->step, k, v);
    backend::attention_cached(ctx, q, cached->cache->keys(b), cached->cache->values(b), seqs, s.attn_scale,
                              s.layers[b].sliding_window, attn);
  } else {
    backend::rope(ctx, q, seq_lens, s.inv_freq(b));
    backend::rope(ctx, k, seq_lens, s.inv_freq(b));
    backend::attention(ctx, q, k, v, seq_lens, s.attn_scale, s.layers[b].sliding_window, attn);
  }
  attn = attn.reshape({tokens, hq * d});
  if (captured(LinearGroup::O, attn)) return;
  backend::linear(ctx, attn, w.o, w.o_bias, linear_lens, x);
  if (s.sandwich_norms) backend::rmsnorm(ctx, x, w.post_attn_norm, eps, unit, x);
  backend::add_inplace(ctx, hidden, x);

  // Feed-forward.
  backend::rmsnorm(ctx, hidden, w.pre_mlp_norm, eps, unit, x);
  if (captured(LinearGroup::GateUp, x)) return;
  Tensor gate = buffer(Buffer::Gate, {tokens, s.intermediate}), up = buffer(Buffer::Up, {tokens, s.intermediate});
  backend::linear(ctx, x, w.gate, w.gate_bias, linear_lens, gate);
  backend::linear(ctx, x, w.up, w.up_bias, linear_lens, up);
  backend::gated_activation(ctx, gate, up, s.activation, gate);
  if (captured(LinearGroup::Down, gate)) return;
  backend::linear(ctx, gate, w.down, w.down_bias, linear_lens, x);
  if (s.sandwich_norms) backend::rmsnorm(ctx, x, w.post_mlp_norm, eps, unit, x);
  backend::add_inplace(ctx, hidden, x);
}

void Model::head_rows(const Tensor& hidden, Tensor& out) const {
  load_head();
  Tensor x = ctx_->empty(hidden.shape());
  backend::rmsnorm(*ctx_, hidden, final_norm_, spec_.rms_eps, spec_.norm_unit_offset, x);
  backend::linear(*ctx_, x, lm_head_, Tensor(), out);
}

void Model::token_nll(const Tensor& hidden, std::span<const int32_t> targets, std::span<double> nll,
                      int64_t chunk_rows) const {
  const int64_t rows = hidden.dim(0);
  MACA_ASSERT(
      static_cast<int64_t>(targets.size()) == rows && static_cast<int64_t>(nll.size()) == rows && chunk_rows > 0,
      "token_nll: hidden {} targets {} nll {} chunk_rows {}", hidden.str(), targets.size(), nll.size(), chunk_rows);
  Tensor buffer = ctx_->empty({std::min(rows, chunk_rows), spec_.vocab});
  for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - r0);
    Tensor logits = buffer.slice_rows(0, n);
    head_rows(hidden.slice_rows(r0, r0 + n), logits);
    backend::cross_entropy(*ctx_, logits, targets.subspan(r0, n), nll.subspan(r0, n));
  }
}

Tensor Model::logits(const Tensor& hidden) const {
  Tensor out = ctx_->empty({hidden.dim(0), spec_.vocab});
  head_rows(hidden, out);
  return out;
}

}  // namespace maca::model
