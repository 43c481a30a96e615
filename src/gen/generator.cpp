#include "gen/generator.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"

namespace maca::gen {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::StopId:
      return "stop_id";
    case StopReason::StopString:
      return "stop_string";
    case StopReason::MaxTokens:
      return "max_tokens";
  }
  return "?";
}

namespace {

// log softmax(logits)[token] in fp64.
double log_probability(std::span<const float> logits, int32_t token) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (const float x : logits) sum += std::exp(static_cast<double>(x) - mx);
  return static_cast<double>(logits[static_cast<size_t>(token)]) - mx - std::log(sum);
}

}  // namespace

Generator::Generator(const model::Model& model, backend::Context& ctx, const tokenizer::Tokenizer* tok)
    : model_(&model), ctx_(&ctx), tok_(tok) {
  Timer timer;
  int64_t bytes = 0;
  const int n = static_cast<int>(model.spec().n_layers);
  for (int b = 0; b < n; ++b) {
    blocks_.push_back(model.load_block(b));
    const model::BlockWeights& w = blocks_.back();
    for (const Tensor* t : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down})
      bytes += static_cast<int64_t>(t->nbytes());
  }
  spdlog::info("generator: {} blocks resident ({:.2f} GiB of linear weights) in {}", n,
               static_cast<double>(bytes) / (1 << 30), format_duration(timer.seconds()));
}

std::vector<Generated> Generator::generate(std::span<const GenerateRequest> requests, const GenerateOptions& opt,
                                           const StepFn& on_step) const {
  MACA_CHECK(opt.batch >= 1 && opt.prefill_chunk >= 1 && opt.max_new_tokens >= 1,
             "generation: batch {}, prefill_chunk {} and max_new_tokens {} must be at least 1", opt.batch,
             opt.prefill_chunk, opt.max_new_tokens);
  MACA_CHECK(opt.stop_strings.empty() || tok_, "generation: stop strings need the model's tokenizer");
  const int64_t vocab = model_->spec().vocab;
  for (size_t i = 0; i < requests.size(); ++i) {
    MACA_CHECK(!requests[i].prompt.empty(), "generation: request {} has an empty prompt", i);
    for (const int32_t id : requests[i].prompt)
      MACA_CHECK(id >= 0 && id < vocab, "generation: request {} has token id {} outside the vocabulary [0, {})", i, id,
                 vocab);
  }
  std::vector<Generated> out;
  for (size_t b0 = 0; b0 < requests.size(); b0 += static_cast<size_t>(opt.batch)) {
    const size_t n = std::min(requests.size() - b0, static_cast<size_t>(opt.batch));
    for (Generated& g : generate_batch(requests.subspan(b0, n), opt, on_step)) out.push_back(std::move(g));
  }
  return out;
}

std::vector<Generated> Generator::generate_batch(std::span<const GenerateRequest> requests, const GenerateOptions& opt,
                                                 const StepFn& on_step) const {
  const model::ModelSpec& spec = model_->spec();
  const auto n = static_cast<int64_t>(requests.size());
  auto max_new = [&](const GenerateRequest& r) { return r.max_new_tokens > 0 ? r.max_new_tokens : opt.max_new_tokens; };
  int64_t longest = 0;
  for (const GenerateRequest& r : requests)
    longest = std::max(longest, static_cast<int64_t>(r.prompt.size()) + max_new(r));
  model::KvCache cache(spec, *ctx_, n, longest, opt.prefill_chunk);

  std::vector<Generated> out(static_cast<size_t>(n));
  std::vector<int64_t> fed(static_cast<size_t>(n), 0);  // prompt tokens fed so far
  std::vector<bool> done(static_cast<size_t>(n), false);
  const size_t tail_tokens = 64;  // decoded for the stop-string check

  for (;;) {
    model::KvStep step;
    std::vector<int32_t> ids;
    std::vector<int64_t> sample_slots;  // slots whose last row this step gives the next token
    std::vector<int64_t> sample_rows;
    for (int64_t s = 0; s < n; ++s) {
      if (done[s]) continue;
      const std::vector<int32_t>& prompt = requests[s].prompt;
      const auto plen = static_cast<int64_t>(prompt.size());
      int64_t len = 1;
      if (fed[s] < plen) {
        len = std::min(opt.prefill_chunk, plen - fed[s]);
        ids.insert(ids.end(), prompt.begin() + fed[s], prompt.begin() + fed[s] + len);
        fed[s] += len;
      } else {
        ids.push_back(out[s].tokens.back());
      }
      if (fed[s] == plen) {
        sample_slots.push_back(s);
        sample_rows.push_back(static_cast<int64_t>(ids.size()) - 1);
      }
      step.slots.push_back(s);
      step.lens.push_back(len);
    }
    if (step.slots.empty()) break;

    Tensor hidden = model_->embed(ids);
    for (int b = 0; b < spec.n_layers; ++b) model_->forward_block(blocks_[b], b, hidden, cache, step);
    cache.advance(step);
    if (on_step) on_step(static_cast<int64_t>(ids.size()));
    if (sample_slots.empty()) continue;

    Tensor last = ctx_->empty({static_cast<int64_t>(sample_rows.size()), spec.hidden});
    const auto row_bytes = static_cast<size_t>(spec.hidden) * sizeof(float);
    for (size_t i = 0; i < sample_rows.size(); ++i)
      ctx_->copy(static_cast<char*>(last.raw()) + i * row_bytes,
                 static_cast<const char*>(hidden.raw()) + static_cast<size_t>(sample_rows[i]) * row_bytes, row_bytes);
    const Tensor logits = ctx_->to_host(model_->logits(last));
    for (size_t i = 0; i < sample_slots.size(); ++i) {
      const int64_t s = sample_slots[i];
      Generated& g = out[s];
      const std::span<const float> row(logits.data<float>() + static_cast<int64_t>(i) * spec.vocab,
                                       static_cast<size_t>(spec.vocab));
      const int32_t token = choose_token(row, opt.sampling, requests[s].seed, static_cast<int64_t>(g.tokens.size()));
      g.tokens.push_back(token);
      g.logprobs.push_back(log_probability(row, token));
      if (std::find(opt.stop_ids.begin(), opt.stop_ids.end(), token) != opt.stop_ids.end()) {
        g.reason = StopReason::StopId;
        done[s] = true;
      } else if (!opt.stop_strings.empty()) {
        const size_t from = g.tokens.size() > tail_tokens ? g.tokens.size() - tail_tokens : 0;
        const std::string tail = tok_->decode(std::span<const int32_t>(g.tokens).subspan(from));
        for (const std::string& stop : opt.stop_strings)
          if (tail.find(stop) != std::string::npos) {
            g.reason = StopReason::StopString;
            done[s] = true;
          }
      }
      if (!done[s] && static_cast<int64_t>(g.tokens.size()) >= max_new(requests[s])) {
        g.reason = StopReason::MaxTokens;
        done[s] = true;
      }
    }
  }
  return out;
}

std::vector<Generator::Scored> Generator::score(std::span<const std::vector<int32_t>> seqs,
                                                std::span<const int64_t> from, int64_t batch_tokens) const {
  MACA_ASSERT(seqs.size() == from.size() && batch_tokens > 0, "score: {} sequences, {} starts", seqs.size(),
              from.size());
  const model::ModelSpec& spec = model_->spec();
  std::vector<Scored> out(seqs.size());
  for (size_t i0 = 0; i0 < seqs.size();) {
    // A batch: whole sequences up to batch_tokens (at least one).
    size_t i1 = i0;
    int64_t tokens = 0;
    while (i1 < seqs.size() && (i1 == i0 || tokens + static_cast<int64_t>(seqs[i1].size()) <= batch_tokens))
      tokens += static_cast<int64_t>(seqs[i1++].size());
    std::vector<int32_t> ids, targets;
    std::vector<int64_t> lens;
    for (size_t i = i0; i < i1; ++i) {
      MACA_CHECK(!seqs[i].empty() && from[i] >= 1 && from[i] <= static_cast<int64_t>(seqs[i].size()),
                 "score: sequence {} has {} tokens, scoring from {}", i, seqs[i].size(), from[i]);
      ids.insert(ids.end(), seqs[i].begin(), seqs[i].end());
      targets.insert(targets.end(), seqs[i].begin() + 1, seqs[i].end());
      targets.push_back(0);  // the last row predicts past the sequence: ignored
      lens.push_back(static_cast<int64_t>(seqs[i].size()));
    }
    Tensor hidden = model_->embed(ids);
    for (int b = 0; b < spec.n_layers; ++b) model_->forward_block(blocks_[b], b, hidden, lens);
    std::vector<double> nll(ids.size());
    model_->token_nll(hidden, targets, nll);
    const Tensor h = ctx_->to_host(hidden);
    int64_t at = 0;
    for (size_t i = i0; i < i1; ++i) {
      const int64_t len = lens[i - i0];
      // Row t predicts token t + 1.
      for (int64_t t = from[i]; t < len; ++t) out[i].nll.push_back(nll[static_cast<size_t>(at + t - 1)]);
      std::vector<double>& rms = out[i].channel_rms;
      rms.assign(static_cast<size_t>(spec.hidden), 0.0);
      for (int64_t t = from[i]; t < len; ++t)
        for (int64_t c = 0; c < spec.hidden; ++c) {
          const double x = h.data<float>()[(at + t) * spec.hidden + c];
          rms[static_cast<size_t>(c)] += x * x;
        }
      if (len > from[i])
        for (double& r : rms) r = std::sqrt(r / static_cast<double>(len - from[i]));
      at += len;
    }
    i0 = i1;
  }
  return out;
}

}  // namespace maca::gen
