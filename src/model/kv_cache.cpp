#include "model/kv_cache.h"

#include <algorithm>

#include "core/error.h"

namespace maca::model {

int64_t KvStep::rows() const {
  int64_t n = 0;
  for (const int64_t len : lens) n += len;
  return n;
}

KvCache::KvCache(const ModelSpec& spec, backend::Context& ctx, int64_t slots, int64_t max_len, int64_t max_step)
    : position_(static_cast<size_t>(slots), 0),
      max_len_(max_len),
      max_step_(max_step),
      row_floats_(spec.n_kv_heads * spec.head_dim),
      ctx_(&ctx) {
  MACA_CHECK(slots >= 1 && max_len >= 1 && max_step >= 1, "KV cache: {} slots, max_len {}, max_step {}", slots, max_len,
             max_step);
  for (const LayerSpec& layer : spec.layers) {
    Block blk;
    blk.window = layer.sliding_window;
    blk.capacity = blk.window > 0 ? std::min(max_len, blk.window - 1 + max_step) : max_len;
    blk.k = ctx.empty({slots, blk.capacity, spec.n_kv_heads, spec.head_dim});
    blk.v = ctx.empty({slots, blk.capacity, spec.n_kv_heads, spec.head_dim});
    blk.len.assign(static_cast<size_t>(slots), 0);
    blk.first_pos.assign(static_cast<size_t>(slots), 0);
    blocks_.push_back(std::move(blk));
  }
}

void KvCache::reset(int64_t slot) {
  position_.at(slot) = 0;
  for (Block& blk : blocks_) blk.len[slot] = blk.first_pos[slot] = 0;
}

int64_t KvCache::bytes() const {
  int64_t n = 0;
  for (const Block& blk : blocks_) n += static_cast<int64_t>(blk.k.nbytes() + blk.v.nbytes());
  return n;
}

std::vector<int64_t> KvCache::start_positions(const KvStep& step) const {
  MACA_ASSERT(step.slots.size() == step.lens.size(), "KV step: {} slots, {} lengths", step.slots.size(),
              step.lens.size());
  std::vector<int64_t> start;
  for (size_t i = 0; i < step.slots.size(); ++i) {
    const int64_t slot = step.slots[i], n = step.lens[i];
    MACA_ASSERT(slot >= 0 && slot < slots(), "KV step: slot {} of {}", slot, slots());
    MACA_ASSERT(n >= 1 && n <= max_step_, "KV step: {} tokens for slot {} (1 to {} per step)", n, slot, max_step_);
    MACA_CHECK(position_[slot] + n <= max_len_,
               "generation: a sequence would reach {} tokens, past the KV cache's {} (raise the generation length "
               "limit or shorten the prompt)",
               position_[slot] + n, max_len_);
    start.push_back(position_[slot]);
  }
  return start;
}

std::vector<backend::CachedSeq> KvCache::append(int b, const KvStep& step, const Tensor& k, const Tensor& v) {
  Block& blk = blocks_.at(b);
  MACA_ASSERT(k.numel() == step.rows() * row_floats_ && v.numel() == k.numel(), "KV append: k {} v {} for {} rows",
              k.str(), v.str(), step.rows());
  // Device memory on a GPU context: addressed through raw(), moved by the context.
  const auto* kp = k.device_data<float>();
  const auto* vp = v.device_data<float>();
  auto* kc = blk.k.device_data<float>();
  auto* vc = blk.v.device_data<float>();
  const auto row_bytes = static_cast<size_t>(row_floats_) * sizeof(float);
  const int64_t slot_floats = blk.capacity * row_floats_;
  std::vector<backend::CachedSeq> seqs;
  int64_t row = 0;
  for (size_t i = 0; i < step.slots.size(); ++i) {
    const int64_t s = step.slots[i], n = step.lens[i];
    float* ks = kc + s * slot_floats;
    float* vs = vc + s * slot_floats;
    if (blk.len[s] + n > blk.capacity) {
      // Sliding window: only the last window − 1 keys stay visible to the new queries.
      const int64_t keep = std::min(blk.len[s], blk.window - 1), drop = blk.len[s] - keep;
      ctx_->copy(ks, ks + drop * row_floats_, static_cast<size_t>(keep) * row_bytes);
      ctx_->copy(vs, vs + drop * row_floats_, static_cast<size_t>(keep) * row_bytes);
      blk.len[s] = keep;
      blk.first_pos[s] += drop;
    }
    MACA_ASSERT(blk.len[s] + n <= blk.capacity, "KV append: block {} slot {} holds {} + {} > {}", b, s, blk.len[s], n,
                blk.capacity);
    ctx_->copy(ks + blk.len[s] * row_floats_, kp + row * row_floats_, static_cast<size_t>(n) * row_bytes);
    ctx_->copy(vs + blk.len[s] * row_floats_, vp + row * row_floats_, static_cast<size_t>(n) * row_bytes);
    blk.len[s] += n;
    seqs.push_back({s, n, blk.len[s], blk.first_pos[s]});
    row += n;
  }
  return seqs;
}

void KvCache::advance(const KvStep& step) {
  for (size_t i = 0; i < step.slots.size(); ++i) position_[step.slots[i]] += step.lens[i];
}

}  // namespace maca::model
