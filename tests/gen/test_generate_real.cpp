// Greedy generation on the real GGUF models against transformers' generate()
// on the same files dequantized to fp32 (tests/scripts/make_generation_fixtures.py
// --real): 32 new tokens from a chat-formatted prompt, token for token, and
// maca's tokenizer encodes the chat text (special tokens included) to the
// prompt ids transformers used. Skips when a model file is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "common/real_models.h"
#include "gen/generator.h"
#include "io/model_source.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace maca::gen {
namespace {

namespace fs = std::filesystem;

class RealGreedy : public ::testing::TestWithParam<std::string> {};

TEST_P(RealGreedy, MatchesTransformers) {
  std::string why;
  const auto path = test_support::find_real_model(GetParam(), why);
  if (!path) GTEST_SKIP() << why;
  std::ifstream in(fs::path(MACA_FIXTURES) / "model" / "real_generate.json");
  const auto all = nlohmann::json::parse(in);
  const auto& e = all.at(GetParam());
  const auto prompt = e.at("prompt").get<std::vector<int32_t>>();
  const auto expected = e.at("new_tokens").get<std::vector<int32_t>>();

  const auto src = io::open_model(*path);
  const auto tok = tokenizer::load_tokenizer(*path);
  EXPECT_EQ(tok.encode(e.at("prompt_text").get<std::string>(), false), prompt);

  const auto ctx = backend::Context::create(Device::cpu());
  const model::Model model(*src, *ctx);
  const Generator gen(model, *ctx, &tok);
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.max_new_tokens = static_cast<int64_t>(expected.size());
  o.prefill_chunk = 16;
  const auto out = gen.generate(std::vector<GenerateRequest>{{prompt, 0}}, o);
  EXPECT_EQ(out[0].tokens, expected) << "maca: " << tok.decode(out[0].tokens)
                                     << "\ntransformers: " << tok.decode(expected);
}

INSTANTIATE_TEST_SUITE_P(
    Models, RealGreedy, ::testing::Values("SmolLM2-135M-Instruct.Q4_1.gguf", "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf"),
    [](const auto& info) { return info.index == 0 ? std::string("smollm2") : std::string("qwen"); });

}  // namespace
}  // namespace maca::gen
