// eval::perplexity against a direct computation on a tiny model: every window
// run on its own, logits -> log-softmax in double, PPL = exp(mean NLL). The
// chunking (hidden-state budget), batching and max_windows must not change it.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backend/context.h"
#include "core/error.h"
#include "eval/perplexity.h"
#include "io/model_source.h"

using namespace maca;

namespace {

constexpr int64_t kCtx = 16;

class Perplexity : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = io::open_model(std::filesystem::path(MACA_FIXTURES) / "model" / "gemma3");
    model_ = std::make_unique<model::Model>(*source_, *ctx_);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(model_->spec().vocab - 1));
    ids_.resize(5 * kCtx + 7);  // 5 full windows and a remainder that must be dropped
    for (auto& t : ids_) t = tok(rng);
  }

  // Mean NLL of the first `windows` windows, each run separately.
  double reference_mean_nll(int64_t windows) const {
    double sum = 0;
    const std::vector<int64_t> lens = {kCtx};
    for (int64_t w = 0; w < windows; ++w) {
      const std::span<const int32_t> win(ids_.data() + w * kCtx, kCtx);
      Tensor h = model_->embed(win);
      for (int b = 0; b < model_->spec().n_layers; ++b) model_->forward_block(model_->load_block(b), b, h, lens);
      const Tensor logits = model_->logits(h);
      const int64_t v = logits.dim(1);
      for (int64_t t = 0; t + 1 < kCtx; ++t) {
        const float* row = logits.data<float>() + t * v;
        double mx = row[0];
        for (int64_t i = 1; i < v; ++i) mx = std::max(mx, double{row[i]});
        double z = 0;
        for (int64_t i = 0; i < v; ++i) z += std::exp(row[i] - mx);
        sum += mx + std::log(z) - row[win[t + 1]];
      }
    }
    return sum / static_cast<double>(windows * (kCtx - 1));
  }

  std::unique_ptr<backend::Context> ctx_ = backend::Context::create(Device::cpu());
  std::unique_ptr<io::ModelSource> source_;
  std::unique_ptr<model::Model> model_;
  std::vector<int32_t> ids_;
};

TEST_F(Perplexity, MatchesDirectComputationAndDropsTheRemainder) {
  eval::PerplexityOptions opt;
  opt.ctx = kCtx;
  const auto r = eval::perplexity(*model_, ids_, opt);
  EXPECT_EQ(r.windows, 5);
  EXPECT_EQ(r.predicted_tokens, 5 * (kCtx - 1));
  EXPECT_EQ(r.stream_tokens, static_cast<int64_t>(ids_.size()));
  const double ref = reference_mean_nll(5);
  EXPECT_NEAR(r.mean_nll, ref, 1e-5 * ref);
  EXPECT_NEAR(r.ppl, std::exp(ref), 1e-5 * std::exp(ref));
}

TEST_F(Perplexity, ChunkingAndBatchingDoNotChangeTheResult) {
  eval::PerplexityOptions whole;
  whole.ctx = kCtx;
  eval::PerplexityOptions pieces = whole;
  pieces.batch_tokens = kCtx;                                                  // one window per forward call
  pieces.hidden_budget_bytes = 2 * kCtx * model_->spec().hidden * 4;           // two windows per chunk
  const auto a = eval::perplexity(*model_, ids_, whole);
  const auto b = eval::perplexity(*model_, ids_, pieces);
  EXPECT_NEAR(a.mean_nll, b.mean_nll, 1e-6 * a.mean_nll);
}

TEST_F(Perplexity, MaxWindowsTakesTheFirstWindows) {
  eval::PerplexityOptions opt;
  opt.ctx = kCtx;
  opt.max_windows = 2;
  const auto r = eval::perplexity(*model_, ids_, opt);
  EXPECT_EQ(r.windows, 2);
  const double ref = reference_mean_nll(2);
  EXPECT_NEAR(r.mean_nll, ref, 1e-5 * ref);
}

TEST_F(Perplexity, StreamShorterThanOneWindowIsAnError) {
  eval::PerplexityOptions opt;
  opt.ctx = 1000;
  try {
    eval::perplexity(*model_, ids_, opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fewer than one window"), std::string::npos) << e.what();
  }
}

}  // namespace
