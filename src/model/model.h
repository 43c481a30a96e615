// Model: the forward pass of a decoder-only LLM (llama, qwen2, qwen3, gemma3),
// one block at a time, built from the backend ops and matching transformers'
// fp32 forward.
//
// The model streams: construction parses only the config; load_block(b)
// reads block b's tensors, so a caller holds one block at a time. Besides
// the block, the Model keeps two things resident once first used: the token
// embedding table (first embed(), until release_embedding()) and the output head, i.e. the final norm
// and lm_head (first token_nll()/logits(); lm_head is the embedding table
// itself when the embeddings are tied, so a tied model holds it once).
//
// Sequences of different lengths are packed along the token dimension:
// hidden is [sum(seq_lens), hidden_size] and rope positions restart at 0 for
// every sequence. Working memory of forward_block is proportional to the
// number of packed rows (about rows · (2·hidden + 3·intermediate) floats plus
// one attention tile); callers batch sequences to bound it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "backend/context.h"
#include "core/tensor.h"
#include "io/model_source.h"
#include "model/kv_cache.h"
#include "model/spec.h"

namespace maca::model {

// Linear layers that share one input (and so one Hessian).
enum class LinearGroup { Qkv, O, GateUp, Down };
const char* linear_group_name(LinearGroup g);

// Called with the input [tokens, in_features] of each linear group of a block.
using CaptureFn = std::function<void(int block, LinearGroup group, const Tensor& input)>;

// All tensors of one block, fp32 on the context's device, HF layout
// (nn.Linear weights [out, in]). Optional tensors are undefined when the
// architecture has none. Callers may replace the linear weights (e.g. with
// quantized-dequantized ones) before forward_block.
struct BlockWeights {
  Tensor input_norm;                      // input_layernorm
  Tensor q, k, v, o;                      // self_attn.{q,k,v,o}_proj.weight
  Tensor q_bias, k_bias, v_bias, o_bias;  // qwen2 (qkv), attention_bias models
  Tensor q_norm, k_norm;                  // per-head [head_dim] norms (qwen3, gemma3)
  Tensor post_attn_norm;                  // gemma3 post_attention_layernorm
  Tensor pre_mlp_norm;                    // llama/qwen post_attention_layernorm, gemma3 pre_feedforward_layernorm
  Tensor post_mlp_norm;                   // gemma3 post_feedforward_layernorm
  Tensor gate, up, down;                  // mlp.{gate,up,down}_proj.weight
  Tensor gate_bias, up_bias, down_bias;   // llama mlp_bias
};

class Model {
 public:
  // Parses the spec from src.config(); loads no tensor. `src` and `ctx` must
  // outlive the Model.
  Model(const io::ModelSource& src, backend::Context& ctx);

  const ModelSpec& spec() const { return spec_; }
  // The context the forward runs on (and the callers' numeric work with it).
  backend::Context& context() const { return *ctx_; }

  // Token embeddings [tokens, hidden] with the architecture's scale applied.
  // Throws maca::Error for an id outside the vocabulary.
  Tensor embed(std::span<const int32_t> tokens) const;
  // Drops the resident embedding table; a later embed() reads it again. For a
  // job that has embedded all its tokens (quantize: the calibration set), the
  // 4·vocab·hidden bytes it would otherwise carry through every block (1 GiB
  // for a 32000 × 8192 table, on every rank). A tied lm_head loaded before
  // keeps its own reference.
  void release_embedding() const;

  // While at least one BufferReuse for this Model exists, forward_block
  // hands its per-block buffers (the normed input, q, k, v, the attention
  // output, gate and up) from one call to the next instead of allocating
  // fresh ones, when the token count is the same and no other tensor still
  // shares a buffer. A fresh buffer of a megabyte or more is a new mapping
  // (core/memory.h) whose every page faults on first touch: 370 000 faults
  // per 2048-token SmolLM2 window, several percent of a CPU forward. The
  // buffers are freed when the last scope ends, so the memory between a
  // caller's forward phases is what it would be without one. One forward at
  // a time per Model, as everywhere.
  class BufferReuse {
   public:
    explicit BufferReuse(const Model& model);
    ~BufferReuse();
    BufferReuse(const BufferReuse&) = delete;
    BufferReuse& operator=(const BufferReuse&) = delete;

   private:
    const Model* model_;
  };

  // Reads block b's tensors. Throws FileError for a missing tensor and
  // maca::Error naming the tensor, the expected and the actual shape when the
  // file disagrees with the config.
  BlockWeights load_block(int b) const;

  // Runs block b on the packed sequences in `hidden` [sum(seq_lens), hidden],
  // in place. When `capture` is given it is called once per linear group, in
  // the order Qkv, O, GateUp, Down, with that group's input, before that
  // group's weights are read (so a capture may replace them: the rest of the
  // forward then uses the replaced weights). With `stop_after`, the forward
  // returns right after capturing that group and `hidden` holds an
  // unspecified intermediate (callers pass a copy).
  void forward_block(const BlockWeights& w, int b, Tensor& hidden, std::span<const int64_t> seq_lens,
                     const CaptureFn* capture = nullptr, std::optional<LinearGroup> stop_after = {}) const;

  // The same block on the new tokens of a generation step (rows of `hidden`
  // in the order of step.slots), attending to what `cache` holds for their
  // sequences; appends the block's keys/values to the cache. Call
  // cache.advance(step) after the last block. Unlike the packed forward, the
  // step's rows form one GEMM operand, so a row's bits may depend on the
  // other rows of the step (deterministic for the same steps).
  void forward_block(const BlockWeights& w, int b, Tensor& hidden, KvCache& cache, const KvStep& step) const;

  // nll[i] = -log p(targets[i] | hidden row i) after the final norm and the
  // vocabulary projection, computed chunk_rows rows at a time so only
  // [chunk_rows, vocab] logits exist at once.
  void token_nll(const Tensor& hidden, std::span<const int32_t> targets, std::span<double> nll,
                 int64_t chunk_rows = 256) const;

  // Final norm + lm_head for all rows: [rows, vocab] (tests, generation).
  Tensor logits(const Tensor& hidden) const;

 private:
  struct Cached {
    KvCache* cache;
    const KvStep* step;
  };
  void run_block(const BlockWeights& w, int b, Tensor& hidden, std::span<const int64_t> seq_lens, const Cached* cached,
                 const CaptureFn* capture, std::optional<LinearGroup> stop_after) const;
  const Tensor& embedding_table() const;
  void load_head() const;
  Tensor load_checked(const std::string& name, const Shape& expected) const;
  void head_rows(const Tensor& hidden, Tensor& out) const;
  // The per-block buffers run_block allocates, in its order.
  enum class Buffer { Normed, Q, K, V, Attn, Gate, Up, Count };
  // A [shape] f32 buffer: the one kept for `which` under a BufferReuse scope
  // when it has that shape and nothing else holds it, else a fresh one.
  Tensor buffer(Buffer which, Shape shape) const;

  const io::ModelSource* src_;
  backend::Context* ctx_;
  ModelSpec spec_;

  // Resident once first used (see the file comment).
  mutable std::mutex embed_mutex_;
  mutable std::once_flag head_once_;
  mutable Tensor embed_table_, final_norm_, lm_head_;

  // BufferReuse scopes alive, and the buffers they keep.
  mutable int reuse_scopes_ = 0;
  mutable std::array<Tensor, static_cast<size_t>(Buffer::Count)> kept_;
};

}  // namespace maca::model
