// Perplexity as in the GPTQ literature (algorithms.md §6): one token stream,
// non-overlapping windows of `ctx` tokens (remainder dropped), each window
// predicts its tokens 2..ctx, PPL = exp(mean token NLL).
//
// The model runs block-major: a chunk of windows (bounded by a memory budget
// for the hidden states) goes through block 0, then block 1, ... so each
// block's weights are loaded once per chunk and only one block is resident,
// as in the quantization pipeline.
//
// With several ranks each evaluates a contiguous share of the windows and the
// NLL sums are all-reduced; every rank returns the same result.
#pragma once

#include <cstdint>
#include <span>

#include "parallel/comm.h"
#include "model/model.h"

namespace maca::config {
class Config;
}

namespace maca::eval {

struct PerplexityOptions {
  int64_t ctx = 2048;                        // window length in tokens
  int64_t max_windows = 0;                   // 0 = every full window of the stream
  int64_t batch_tokens = 8192;               // tokens per forward call (bounds activation memory)
  int64_t hidden_budget_bytes = 4LL << 30;   // hidden states of the windows kept across blocks
  parallel::Comm* comm = nullptr;                // ranks sharing the windows; nullptr: this process alone
};

struct PerplexityResult {
  double ppl = 0;
  double mean_nll = 0;
  int64_t stream_tokens = 0;     // tokens in the whole stream
  int64_t windows = 0;           // windows evaluated
  int64_t predicted_tokens = 0;  // windows × (ctx − 1)
  double seconds = 0;            // forward + NLL wall time
  double tokens_per_s = 0;       // windows × ctx / seconds
};

// Throws maca::Error when the stream is shorter than one window.
PerplexityResult perplexity(const model::Model& model, std::span<const int32_t> ids, const PerplexityOptions& opt);

// `maca eval`: resolves model.path, eval.data (search path), the tokenizer and
// the device from the config, evaluates and logs the result.
PerplexityResult run_perplexity(const config::Config& cfg);

}  // namespace maca::eval
