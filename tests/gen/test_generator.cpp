// Generation: greedy output equals transformers' generate() token for token
// on the tiny models of every architecture (fixtures from
// tests/scripts/make_generation_fixtures.py), prompts of different lengths
// batched together or alone; sampling is a function of the seed; stop ids end
// a sequence; and choose_token's filters keep exactly the tokens transformers'
// warpers keep, drawing with the right frequencies.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "core/error.h"
#include "gen/generator.h"
#include "io/model_source.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace maca::gen {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::vector<int32_t> prompt, expected;
  double min_margin;
};

std::vector<Case> read_cases(const fs::path& file) {
  std::ifstream in(file);
  const auto j = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& c : j.at("cases"))
    cases.push_back({c.at("prompt").get<std::vector<int32_t>>(), c.at("new_tokens").get<std::vector<int32_t>>(),
                     c.at("min_margin").get<double>()});
  return cases;
}

class TinyGeneration : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path dir_ = fs::path(MACA_FIXTURES) / "model" / GetParam();
  std::unique_ptr<io::ModelSource> src_ = io::open_model(dir_);
  std::unique_ptr<backend::Context> ctx_ = backend::Context::create(Device::cpu());
  model::Model model_{*src_, *ctx_};
  Generator gen_{model_, *ctx_};
  std::vector<Case> cases_ = read_cases(dir_ / "generate.json");

  void SetUp() override { ASSERT_EQ(cases_.size(), 2u) << "generate.json of " << GetParam(); }

  std::vector<GenerateRequest> requests() const {
    std::vector<GenerateRequest> r;
    for (size_t i = 0; i < cases_.size(); ++i) r.push_back({cases_[i].prompt, 7 + i});
    return r;
  }
};

GenerateOptions greedy(int64_t new_tokens, int64_t batch, int64_t chunk) {
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.max_new_tokens = new_tokens;
  o.batch = batch;
  o.prefill_chunk = chunk;
  return o;
}

TEST_P(TinyGeneration, GreedyMatchesTransformers) {
  for (const int64_t batch : {1, 2}) {
    const auto out = gen_.generate(requests(), greedy(24, batch, 4));
    ASSERT_EQ(out.size(), cases_.size());
    for (size_t i = 0; i < cases_.size(); ++i) {
      EXPECT_EQ(out[i].tokens, cases_[i].expected)
          << "prompt " << i << ", batch " << batch << " (smallest top-2 logit margin " << cases_[i].min_margin << ")";
      EXPECT_EQ(out[i].reason, StopReason::MaxTokens);
    }
  }
}

TEST_P(TinyGeneration, SamplingIsAFunctionOfTheSeed) {
  GenerateOptions o;
  o.sampling = {.temperature = 1.0, .top_k = 0, .top_p = 1.0, .min_p = 0};
  o.max_new_tokens = 16;
  const auto a = gen_.generate(requests(), o);
  const auto b = gen_.generate(requests(), o);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].tokens, b[i].tokens) << "prompt " << i;
}

TEST_P(TinyGeneration, StopIdEndsTheSequence) {
  GenerateOptions o = greedy(24, 2, 8);
  o.stop_ids = {cases_[0].expected[0]};
  const auto out = gen_.generate(requests(), o);
  EXPECT_EQ(out[0].tokens, std::vector<int32_t>{cases_[0].expected[0]});
  EXPECT_EQ(out[0].reason, StopReason::StopId);
}

TEST_P(TinyGeneration, RefusesBadRequests) {
  EXPECT_THROW(gen_.generate(std::vector<GenerateRequest>{{{}, 0}}, greedy(4, 1, 4)), Error);
  EXPECT_THROW(gen_.generate(std::vector<GenerateRequest>{{{1, 100000}, 0}}, greedy(4, 1, 4)), Error);
  GenerateOptions o = greedy(4, 1, 4);
  o.stop_strings = {"\n"};
  EXPECT_THROW(gen_.generate(requests(), o), Error);  // stop strings without a tokenizer
}

INSTANTIATE_TEST_SUITE_P(Archs, TinyGeneration, ::testing::Values("llama", "qwen2", "qwen3", "gemma3"));

// Distinct seeds give distinct samples where the model is not near-certain
// (the tiny llama's distributions are flat enough).
TEST(Sampling, DifferentSeedsDiffer) {
  const fs::path dir = fs::path(MACA_FIXTURES) / "model" / "llama";
  const auto src = io::open_model(dir);
  const auto ctx = backend::Context::create(Device::cpu());
  const model::Model m(*src, *ctx);
  const Generator gen(m, *ctx);
  GenerateOptions o;
  o.sampling = {.temperature = 1.0, .top_k = 0, .top_p = 1.0, .min_p = 0};
  o.max_new_tokens = 16;
  const std::vector<GenerateRequest> r = {{{1, 2, 3}, 1}, {{1, 2, 3}, 2}};
  const auto out = gen.generate(r, o);
  EXPECT_NE(out[0].tokens, out[1].tokens);
}

// Probabilities 0.5, 0.3, 0.2 (and a negligible fourth token).
const std::vector<float> kLogits = {std::log(0.5f), std::log(0.3f), std::log(0.2f), -60.0f};

std::map<int32_t, double> frequencies(const SamplingParams& p, int draws = 40000) {
  std::map<int32_t, double> f;
  for (int s = 0; s < draws; ++s) f[choose_token(kLogits, p, static_cast<uint64_t>(s), 3)] += 1.0 / draws;
  return f;
}

TEST(ChooseToken, GreedyAndDegenerateFiltersPickTheArgmax) {
  EXPECT_EQ(choose_token(kLogits, {.temperature = 0}, 1, 0), 0);
  EXPECT_EQ(choose_token(std::vector<float>{1, 3, 3}, {.temperature = 0}, 1, 0), 1);  // lowest id on ties
  for (uint64_t s = 0; s < 50; ++s) {
    EXPECT_EQ(choose_token(kLogits, {.temperature = 1, .top_k = 1, .top_p = 1}, s, 0), 0);
    EXPECT_EQ(choose_token(kLogits, {.temperature = 1, .top_k = 0, .top_p = 0.01}, s, 0), 0);
    EXPECT_EQ(choose_token(kLogits, {.temperature = 1, .top_k = 0, .top_p = 1, .min_p = 0.99}, s, 0), 0);
  }
}

TEST(ChooseToken, DrawsWithTheFilteredProbabilities) {
  const double tol = 0.012;  // ~5 standard deviations of a frequency at 40000 draws
  auto plain = frequencies({.temperature = 1, .top_k = 0, .top_p = 1});
  EXPECT_NEAR(plain[0], 0.5, tol);
  EXPECT_NEAR(plain[1], 0.3, tol);
  EXPECT_NEAR(plain[2], 0.2, tol);
  auto top2 = frequencies({.temperature = 1, .top_k = 2, .top_p = 1});
  EXPECT_NEAR(top2[0], 0.625, tol);
  EXPECT_NEAR(top2[1], 0.375, tol);
  EXPECT_EQ(top2.count(2), 0u);
  // top-p 0.7: the mass before token 2 is 0.8 >= 0.7, so it goes.
  auto nucleus = frequencies({.temperature = 1, .top_k = 0, .top_p = 0.7});
  EXPECT_NEAR(nucleus[0], 0.625, tol);
  EXPECT_EQ(nucleus.count(2), 0u);
  // min-p 0.5: tokens below 0.25 go.
  auto minp = frequencies({.temperature = 1, .top_k = 0, .top_p = 1, .min_p = 0.5});
  EXPECT_NEAR(minp[1], 0.375, tol);
  EXPECT_EQ(minp.count(2), 0u);
  // Temperature 0.5 squares the odds: 25 : 9 : 4.
  auto cold = frequencies({.temperature = 0.5, .top_k = 0, .top_p = 1});
  EXPECT_NEAR(cold[0], 25.0 / 38, tol);
  EXPECT_NEAR(cold[2], 4.0 / 38, tol);
}

TEST(ChooseToken, TheDrawDependsOnSeedAndStepOnly) {
  const SamplingParams p{.temperature = 1, .top_k = 0, .top_p = 1};
  for (uint64_t s = 0; s < 20; ++s)
    for (int64_t step = 0; step < 5; ++step)
      EXPECT_EQ(choose_token(kLogits, p, s, step), choose_token(kLogits, p, s, step));
  int differ = 0;
  for (uint64_t s = 0; s < 200; ++s) differ += choose_token(kLogits, p, s, 0) != choose_token(kLogits, p, s, 1);
  EXPECT_GT(differ, 40);  // steps draw independently (expected ~124 of 200)
}

}  // namespace
}  // namespace maca::gen
