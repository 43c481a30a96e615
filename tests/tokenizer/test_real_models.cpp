// The real vocabularies (SmolLM2-135M byte-level BPE, gemma-3-270m
// SentencePiece BPE) loaded from their GGUF files, and from the tokenizer.json
// the fixture script saves next to them, against HF's ids. Skips when the
// models are not fetched.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/real_models.h"
#include "fixture_cases.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

namespace maca::tokenizer {
namespace {

struct RealModel {
  std::string name, gguf;
};

// Names the parameter in test listings (instead of a byte dump).
void PrintTo(const RealModel& m, std::ostream* os) { *os << m.name; }

class RealTokenizer : public ::testing::TestWithParam<RealModel> {
 protected:
  std::filesystem::path gguf_path() const { return *path_; }
  void SetUp() override {
    std::string why;
    path_ = test_support::find_real_model(GetParam().gguf, why);
    if (!path_) GTEST_SKIP() << why;
  }
  std::optional<std::filesystem::path> path_;
};

TEST_P(RealTokenizer, FromGgufMatchesHuggingFace) {
  const Tokenizer tok = load_tokenizer(gguf_path());
  const size_t compared = testing::check_cases(tok, testing::load_cases(GetParam().name));
  std::cout << GetParam().name << " (GGUF): " << compared << " ids compared\n";
}

TEST_P(RealTokenizer, FromTokenizerJsonMatchesHuggingFace) {
  const auto json = gguf_path().parent_path() / (gguf_path().stem().string() + ".tokenizer.json");
  if (!std::filesystem::exists(json))
    GTEST_SKIP() << json << " is absent; python3 tests/scripts/make_tokenizer_fixtures.py writes it";
  const Tokenizer tok = Tokenizer::from_tokenizer_json(json);
  const size_t compared = testing::check_cases(tok, testing::load_cases(GetParam().name));
  std::cout << GetParam().name << " (tokenizer.json): " << compared << " ids compared\n";
}

// The whole WikiText-2 test split encodes and decodes back to itself. (Speed
// is not asserted here: timings belong in bench/, not in unit tests.)
TEST_P(RealTokenizer, RoundTripsWikiText) {
  const auto wiki = std::filesystem::path(MACA_SOURCE_DIR).parent_path() / "shared/data/wikitext-2-raw/wiki.test.raw";
  if (!std::filesystem::exists(wiki)) GTEST_SKIP() << wiki << " is absent";
  std::stringstream text;
  text << std::ifstream(wiki).rdbuf();
  const Tokenizer tok = load_tokenizer(gguf_path());
  const std::vector<int32_t> ids = tok.encode(text.str(), false);
  EXPECT_GT(ids.size(), text.str().size() / 8) << "implausibly few tokens";
  EXPECT_EQ(tok.decode(ids), text.str());
}

INSTANTIATE_TEST_SUITE_P(Models, RealTokenizer,
                         ::testing::Values(RealModel{"smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"},
                                           RealModel{"gemma3", "gemma-3-270m-q4_k_m.gguf"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace maca::tokenizer
