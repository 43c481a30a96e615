// Next-token check on the real GGUF models against transformers (which
// dequantizes the same file to fp32): for each recorded prompt the argmax
// token must agree and the top-5 logits must agree within 1e-3 relative. The expectations come
// from `tests/scripts/make_model_fixtures.py --real`. Skips when a model file
// is absent from $MACA_MODEL_DIR or ~/.cache/maca/models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/real_models.h"
#include "backend/context.h"
#include "io/model_source.h"
#include "model/model.h"

namespace maca::model {
namespace {

namespace fs = std::filesystem;

class RealNextTokens : public ::testing::TestWithParam<std::string> {};

TEST_P(RealNextTokens, MatchTransformers) {
  std::string why;
  const auto found = test_support::find_real_model(GetParam(), why);
  if (!found) GTEST_SKIP() << why;
  const fs::path path = *found;
  std::ifstream in(fs::path(MACA_FIXTURES) / "model" / "real_next_tokens.json");
  const auto expected = nlohmann::json::parse(in).at(GetParam());

  const auto src = io::open_model(path);
  const auto ctx = backend::Context::create(Device::cpu());
  const Model model(*src, *ctx);
  double worst = 0.0;  // largest |logit difference| / max(1, |logit|) over the top tokens
  for (const auto& e : expected) {
    const auto ids = e.at("input_ids").get<std::vector<int32_t>>();
    const std::vector<int64_t> lens = {static_cast<int64_t>(ids.size())};
    Tensor hidden = model.embed(ids);
    for (int b = 0; b < model.spec().n_layers; ++b) model.forward_block(model.load_block(b), b, hidden, lens);
    const Tensor logits = model.logits(hidden.slice_rows(lens[0] - 1, lens[0]));
    const float* row = logits.data<float>();
    const int64_t argmax = std::max_element(row, row + model.spec().vocab) - row;
    const std::string prompt = e.at("prompt");
    EXPECT_EQ(argmax, e.at("next_token").get<int64_t>()) << "prompt '" << prompt << "'";
    const auto top_ids = e.at("top_ids").get<std::vector<int64_t>>();
    const auto top_logits = e.at("top_logits").get<std::vector<double>>();
    for (size_t i = 0; i < top_ids.size(); ++i) {
      worst = std::max(worst, std::abs(row[top_ids[i]] - top_logits[i]) / std::max(1.0, std::abs(top_logits[i])));
      EXPECT_NEAR(row[top_ids[i]], top_logits[i], 1e-3 * std::max(1.0, std::abs(top_logits[i])))
          << "prompt '" << prompt << "', token " << top_ids[i];
    }
  }
  std::printf("%s: max relative top-5 logit difference %.3g\n", GetParam().c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Models, RealNextTokens,
                         ::testing::Values("SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"),
                         [](const auto& info) { return info.index == 0 ? std::string("SmolLM2") : "Gemma3"; });

}  // namespace
}  // namespace maca::model
