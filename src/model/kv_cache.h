// KvCache: the keys and values of a batch of sequences being generated, so
// each decoding step runs the blocks on the new tokens only.
//
// One [slots, capacity, kv_heads, head_dim] tensor pair per block; a slot is
// one sequence. Full-attention blocks keep every position (capacity =
// max_len). Sliding-window blocks (gemma3's local layers) keep only what a
// window can still see: capacity = window − 1 + max_step, and when a step
// would overflow, the slot's rows are shifted down to the last window − 1
// keys first, so their memory does not grow with the sequence.
//
// A step (KvStep) lists, in the row order of the hidden states, the slots and
// how many new tokens each brings. Model::forward_block appends each block's
// new keys/values; advance() moves the slots' positions on after the last
// block. Host memory only for now (the CUDA backend makes the copy an op).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "core/tensor.h"
#include "model/spec.h"

namespace maca::model {

struct KvStep {
  std::vector<int64_t> slots;  // slot of each sequence, in row order
  std::vector<int64_t> lens;   // its new tokens (rows)
  int64_t rows() const;
};

class KvCache {
 public:
  // Room for `slots` sequences of up to `max_len` positions, each step adding
  // at most `max_step` tokens to a sequence, in ctx's device memory (ctx must
  // outlive the cache).
  KvCache(const ModelSpec& spec, backend::Context& ctx, int64_t slots, int64_t max_len, int64_t max_step);

  int64_t slots() const { return static_cast<int64_t>(position_.size()); }
  int64_t max_len() const { return max_len_; }
  // Tokens slot s holds (the position its next token gets).
  int64_t position(int64_t slot) const { return position_.at(slot); }
  // Starts slot s over as an empty sequence.
  void reset(int64_t slot);
  // Bytes of cache memory.
  int64_t bytes() const;

  // Checks a step against the capacity (a clear error for a step that would
  // pass max_len or max_step); returns its start positions, one per sequence.
  std::vector<int64_t> start_positions(const KvStep& step) const;
  // Appends block b's new keys/values k, v [step.rows(), kv_heads, head_dim]
  // and returns what attention_cached needs for the step's sequences.
  std::vector<backend::CachedSeq> append(int b, const KvStep& step, const Tensor& k, const Tensor& v);
  const Tensor& keys(int b) const { return blocks_.at(b).k; }
  const Tensor& values(int b) const { return blocks_.at(b).v; }
  // After the last block: every slot of the step moves on by its tokens.
  void advance(const KvStep& step);

 private:
  struct Block {
    Tensor k, v;
    int64_t capacity = 0, window = 0;
    std::vector<int64_t> len, first_pos;  // per slot: rows held, position of row 0
  };
  std::vector<Block> blocks_;
  std::vector<int64_t> position_;
  int64_t max_len_, max_step_, row_floats_;
  backend::Context* ctx_;  // moves rows within the cache's device memory
};

}  // namespace maca::model
