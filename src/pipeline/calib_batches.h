// The calibration activations that flow through the blocks: the sequences of
// a CalibSet packed into batches of at most `batch_tokens` tokens (0: one
// batch), each with its sequence lengths, per-row sample weights (MaCa ω(t)
// and per-sequence normalization) and one or two hidden-state streams:
// `q`, the inputs of the partially quantized model, and for asymmetric
// methods `fp`, the inputs of the full-precision model (algorithms.md §4).
// The streams wait between blocks in memory as f32, or, past
// calib.max_resident_gb, spilled or in bf16 (pipeline/stream_store.h).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "calib/calib_set.h"
#include "core/tensor.h"
#include "model/model.h"
#include "pipeline/stream_store.h"

namespace maca::pipeline {

struct CalibBatch {
  std::vector<int64_t> seq_lens;
  std::vector<float> seq_alpha;   // [sequences] α_s folded into D (SNRQ's sample mode), empty otherwise
  std::vector<float> row_weight;  // [tokens]
  StoredStream q;                 // [tokens, hidden]
  StoredStream fp;                // [tokens, hidden] or undefined (symmetric methods)
};

// How the streams are kept: the batch size and the form every batch waits in.
struct StreamPlan {
  int64_t batch_tokens = 0;  // 0: one batch
  StreamForm form = StreamForm::F32;
  std::shared_ptr<SpillFile> spill;  // for StreamForm::Spill
};

// Bytes of the f32 streams of `tokens` tokens of width `hidden` (two streams
// `with_fp`).
int64_t stream_bytes(int64_t tokens, int64_t hidden, bool with_fp);
// Whether they exceed calib.max_resident_gb (never when it is 0).
bool streams_exceed(int64_t tokens, int64_t hidden, bool with_fp, double max_resident_gb);
// The plan for streams whose longest sequence has `longest` tokens: without
// `exceeds` (the ranks agree on it first), `batch_tokens` and f32 as they
// are; with it, the `overflow` form and, when batch_tokens is 0, batches of
// the most tokens whose f32 streams fit the limit (at least one sequence).
StreamPlan plan_streams(int64_t longest, int64_t hidden, bool with_fp, int64_t batch_tokens, double max_resident_gb,
                        StreamForm overflow, bool exceeds);

// The sequences of `set` that rank `rank` of `ranks` forwards, balanced by
// token count (parallel::shard_by_tokens); row weights are unchanged, so the
// all-reduced statistics equal those of the whole set.
calib::CalibSet local_shard(const calib::CalibSet& set, int rank, int ranks);

// Embeds every sequence (the block-0 input), batch by batch into the plan's
// form (so the f32 streams of all batches never exist at once). `with_fp` also keeps the
// full-precision stream; `seq_alpha`, when given, gives each sequence's α_s
// from its index in the whole set. Sequences are never split across batches.
std::vector<CalibBatch> make_calib_batches(const model::Model& model, const calib::CalibSet& set,
                                           const StreamPlan& plan, bool with_fp,
                                           const std::function<double(int64_t)>& seq_alpha = {});

// Moves every batch's streams to block b's outputs, one batch at a time in
// and out of its stored form: `q` through `w`, `fp` (when the batch has one)
// through `fp_w`.
void forward_streams(const model::Model& model, int b, const model::BlockWeights& w, const model::BlockWeights& fp_w,
                     std::vector<CalibBatch>& batches);

// Bytes of activations held in memory now (both streams, any form).
int64_t activation_bytes(const std::vector<CalibBatch>& batches);

}  // namespace maca::pipeline
