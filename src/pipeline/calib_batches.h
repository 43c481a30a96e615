// The calibration activations that flow through the blocks: the sequences of
// a CalibSet packed into batches of at most `batch_tokens` tokens (0: one
// batch), each with its sequence lengths, per-row sample weights (MaCa ω(t)
// and per-sequence normalization) and one or two hidden-state streams:
// `q`, the inputs of the partially quantized model, and for asymmetric
// methods `fp`, the inputs of the full-precision model (algorithms.md §4).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "calib/calib_set.h"
#include "core/tensor.h"
#include "model/model.h"

namespace maca::pipeline {

struct CalibBatch {
  std::vector<int64_t> seq_lens;
  std::vector<float> seq_alpha;   // [sequences] α_s folded into D (SNRQ's sample mode), empty otherwise
  std::vector<float> row_weight;  // [tokens]
  Tensor q;                       // [tokens, hidden]
  Tensor fp;                      // [tokens, hidden] or undefined (symmetric methods)
};

// The sequences of `set` that rank `rank` of `ranks` forwards, balanced by
// token count (parallel::shard_by_tokens); row weights are unchanged, so the
// all-reduced statistics equal those of the whole set.
calib::CalibSet local_shard(const calib::CalibSet& set, int rank, int ranks);

// Embeds every sequence (the block-0 input). `with_fp` also keeps the
// full-precision stream; `seq_alpha`, when given, gives each sequence's α_s
// from its index in the whole set. Sequences are never split across batches.
std::vector<CalibBatch> make_calib_batches(const model::Model& model, const calib::CalibSet& set,
                                           int64_t batch_tokens, bool with_fp,
                                           const std::function<double(int64_t)>& seq_alpha = {});

// Bytes of activations held (both streams).
int64_t activation_bytes(const std::vector<CalibBatch>& batches);

}  // namespace maca::pipeline
