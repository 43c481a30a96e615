// Generator: batched autoregressive generation with a model held resident
// (every block loaded once), a KV cache per batch, chunked prefill and one
// GEMM per linear layer per step across the batch.
//
// Requests are processed in fixed batches of `batch` in request order; each
// step feeds every unfinished sequence either its next prompt chunk (up to
// `prefill_chunk` tokens) or its last token, so sequences with short prompts
// start decoding while longer ones still prefill. A sequence stops at a stop
// id (EOS, end of turn), a stop string, or max_new_tokens. The output of a
// request depends on its prompt, its seed and its batch (the batch's rows
// share GEMMs), never on threads or ranks: callers that distribute requests
// hand out whole batches.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "gen/sampler.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace maca::gen {

struct GenerateOptions {
  int64_t max_new_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;          // EOS / end-of-turn ids
  std::vector<std::string> stop_strings;  // checked on the decoded tail (needs a tokenizer)
  int64_t prefill_chunk = 256;
  int64_t batch = 8;
};

struct GenerateRequest {
  std::vector<int32_t> prompt;
  uint64_t seed = 0;
  int64_t max_new_tokens = 0;  // 0: the options' max_new_tokens
};

enum class StopReason { StopId, StopString, MaxTokens };
const char* stop_reason_name(StopReason r);

struct Generated {
  std::vector<int32_t> tokens;   // new tokens only (a stop id or stop string is included)
  std::vector<double> logprobs;  // log p(token) under the model's untempered, unfiltered distribution
  StopReason reason = StopReason::MaxTokens;
};

// Called after every step with the tokens the step fed (prompt + new).
using StepFn = std::function<void(int64_t tokens)>;

class Generator {
 public:
  // Loads every block of `model` (logs the time and bytes). `tok` is needed
  // only for stop strings; it and the model must outlive the Generator.
  Generator(const model::Model& model, backend::Context& ctx, const tokenizer::Tokenizer* tok = nullptr);

  // Throws maca::Error for an empty prompt, a prompt token outside the
  // vocabulary, or stop strings without a tokenizer.
  std::vector<Generated> generate(std::span<const GenerateRequest> requests, const GenerateOptions& opt,
                                  const StepFn& on_step = {}) const;

  // Teacher-forced scoring of sequence i from position from[i] on (earlier
  // positions are context only): the NLL of each scored token, −log p(seq[t] |
  // seq[<t]), and the per-channel RMS of the last block's output (before the
  // final norm) over the scored positions. Packed sequences in batches of at
  // most batch_tokens tokens; the same forward as generation's prefill,
  // without a cache.
  struct Scored {
    std::vector<double> nll;          // one per position t >= from[i]
    std::vector<double> channel_rms;  // [hidden]
  };
  std::vector<Scored> score(std::span<const std::vector<int32_t>> seqs, std::span<const int64_t> from,
                            int64_t batch_tokens = 8192) const;

  const model::Model& model() const { return *model_; }

 private:
  std::vector<Generated> generate_batch(std::span<const GenerateRequest> requests, const GenerateOptions& opt,
                                        const StepFn& on_step) const;

  const model::Model* model_;
  backend::Context* ctx_;
  const tokenizer::Tokenizer* tok_;
  std::vector<model::BlockWeights> blocks_;
};

}  // namespace maca::gen
