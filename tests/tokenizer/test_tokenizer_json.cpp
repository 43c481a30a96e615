// Tokenizers trained with HF `tokenizers` (committed, small) against the ids
// HF gives, and the errors for malformed tokenizer.json files.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "fixture_cases.h"
#include "tokenizer/tokenizer.h"

namespace maca::tokenizer {
namespace {

using testing::check_cases;
using testing::fixture_dir;
using testing::load_cases;

class TinyTokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyTokenizer, MatchesHuggingFace) {
  const Tokenizer tok = Tokenizer::from_tokenizer_json(fixture_dir() / (GetParam() + ".tokenizer.json"));
  const size_t compared = check_cases(tok, load_cases(GetParam()));
  EXPECT_GT(compared, 20000u);
  RecordProperty("ids_compared", static_cast<int>(compared));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TinyTokenizer,
                         ::testing::Values("tiny_bytelevel_llama3", "tiny_bytelevel_qwen2",
                                           "tiny_bytelevel_gpt2_digits", "tiny_spm", "tiny_spm_metaspace"));

TEST(Tokenizer, SpecialTokensAndVocabulary) {
  const Tokenizer tok = Tokenizer::from_tokenizer_json(fixture_dir() / "tiny_spm.tokenizer.json");
  const int32_t bos = *tok.token_to_id("<s>");
  EXPECT_EQ(tok.bos_id(), bos);
  EXPECT_TRUE(tok.is_special(bos));
  EXPECT_EQ(tok.encode("x", true).front(), bos);
  EXPECT_EQ(tok.id_to_token(*tok.token_to_id("<0x41>")), "<0x41>");
  EXPECT_THROW(tok.id_to_token(tok.vocab_size()), Error);
  const std::vector<int32_t> bad{tok.vocab_size()};
  EXPECT_THROW(tok.decode(bad), Error);
}

// Writes `text` as a tokenizer.json in a temporary directory.
std::filesystem::path write_json(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / "maca_test_tokenizer";
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".json");
  std::ofstream(path) << text;
  return path;
}

// The FileError message of loading `text`; fails the test when none is thrown.
std::string load_error(const std::string& name, const std::string& text) {
  const auto path = write_json(name, text);
  try {
    Tokenizer::from_tokenizer_json(path);
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << name << ": no FileError";
  return "";
}

constexpr const char* kModel = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

TEST(TokenizerJson, MinimalLoads) {
  const Tokenizer tok = Tokenizer::from_tokenizer_json(write_json("minimal", std::string("{") + kModel + "}"));
  EXPECT_EQ(tok.encode("aab"), (std::vector<int32_t>{0, 2}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{0, 2}), "a ab");  // no decoder: tokens joined by spaces
}

TEST(TokenizerJson, MalformedFilesNameTheKey) {
  EXPECT_NE(load_error("not_json", "{\"model\": ").find("not valid JSON"), std::string::npos);
  EXPECT_NE(load_error("no_model", "{}").find("'model'"), std::string::npos);
  EXPECT_NE(load_error("bad_merge", R"({"model": {"vocab": {"a": 0}, "merges": ["a c"]}})").find("'c'"),
            std::string::npos);
  EXPECT_NE(load_error("merge_shape", R"({"model": {"vocab": {"a": 0}, "merges": ["a"]}})").find("model.merges[0]"),
            std::string::npos);
  EXPECT_NE(load_error("vocab_type", R"({"model": {"vocab": {"a": "x"}, "merges": []}})").find("model.vocab.a"),
            std::string::npos);
  EXPECT_NE(load_error("unigram", R"({"model": {"type": "Unigram", "vocab": [], "merges": []}})").find("model.type"),
            std::string::npos);
  EXPECT_NE(load_error("regex", std::string(R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\d+"},
            "behavior": "Isolated"}, )") +
                                    kModel + "}")
                .find("pre_tokenizer.pattern.Regex"),
            std::string::npos);
  EXPECT_NE(
      load_error("seq", std::string(R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}]}, )") +
                            kModel + "}")
          .find("normalizer.normalizers[0].type"),
      std::string::npos);
  EXPECT_NE(load_error("added", std::string(R"({"added_tokens": [{"id": 5}], )") + kModel + "}")
                .find("added_tokens[0].content"),
            std::string::npos);
}

TEST(LoadTokenizer, DirectoryWithoutTokenizerJson) {
  const auto dir = std::filesystem::temp_directory_path() / "maca_test_tokenizer_empty";
  std::filesystem::create_directories(dir);
  try {
    load_tokenizer(dir);
    ADD_FAILURE() << "no FileError";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace maca::tokenizer
