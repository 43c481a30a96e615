// maca's HF tokenizer files from GGUF files (tokenizer/hf_tokenizer_writer.h):
// the written tokenizer.json loads back through maca's own reader and encodes
// and decodes texts.json exactly as the GGUF tokenizer does, and the GGUF
// tokenizer gives the ids and decodes that HF `tokenizers` gave for the written
// file (written_<name>.expected.json, tests/scripts/make_hf_tokenizer_fixtures.py,
// which also checks transformers' AutoTokenizer). The tiny GGUF fixtures
// always run; the real models when they are fetched.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/real_models.h"
#include "core/error.h"
#include "fixture_cases.h"
#include "io/gguf.h"
#include "tokenizer/hf_tokenizer_writer.h"
#include "tokenizer/tokenizer.h"

namespace maca::tokenizer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Source {
  std::string name;  // written_<name>.expected.json
  std::string file;  // under tests/fixtures/gguf, or a real model's file name
  bool real = false;
};

void PrintTo(const Source& s, std::ostream* os) { *os << s.name; }

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// The files hf_tokenizer_files writes, in a directory of their own.
fs::path write_files(const HfTokenizerFiles& files, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("maca_hf_tokenizer_{}_{}", ::getpid(), name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& [file, content] : files) std::ofstream(dir / file, std::ios::binary) << content;
  return dir;
}

class WrittenTokenizer : public ::testing::TestWithParam<Source> {
 protected:
  void SetUp() override {
    if (GetParam().real) {
      std::string why;
      const auto path = test_support::find_real_model(GetParam().file, why);
      if (!path) GTEST_SKIP() << why;
      path_ = *path;
    } else {
      path_ = fs::path(MACA_FIXTURES) / "gguf" / GetParam().file;
    }
    gguf_ = io::GgufFile::open(path_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path path_, dir_;
  std::shared_ptr<io::GgufFile> gguf_;
};

TEST_P(WrittenTokenizer, ReadsBackToTheGgufTokenizer) {
  const Tokenizer original = Tokenizer::from_gguf(*gguf_);
  dir_ = write_files(hf_tokenizer_files(*gguf_), GetParam().name);
  const Tokenizer written = Tokenizer::from_tokenizer_json(dir_ / "tokenizer.json");

  EXPECT_EQ(written.vocab_size(), original.vocab_size());
  EXPECT_EQ(written.bos_id(), original.bos_id());
  EXPECT_EQ(written.eos_id(), original.eos_id());
  for (int32_t id = 0; id < original.vocab_size(); ++id) {
    ASSERT_EQ(written.id_to_token(id), original.id_to_token(id)) << "id " << id;
    ASSERT_EQ(written.is_special(id), original.is_special(id)) << "id " << id;
  }
  size_t compared = 0;
  const json texts = read_json(testing::fixture_dir() / "texts.json");
  for (const auto& [name, value] : texts.items()) {
    const std::string text = value.get<std::string>();
    for (const bool special : {false, true}) {
      const std::vector<int32_t> ids = original.encode(text, special);
      EXPECT_EQ(written.encode(text, special), ids) << name << (special ? " (with special tokens)" : "");
      EXPECT_EQ(written.decode(ids, special), original.decode(ids, special)) << name;
      compared += ids.size();
    }
  }
  EXPECT_GT(compared, 10000u);
  std::cout << GetParam().name << ": " << compared << " ids equal through the written tokenizer.json\n";
}

TEST_P(WrittenTokenizer, GgufTokenizerMatchesHuggingFaceOnTheWrittenFile) {
  const size_t compared =
      testing::check_cases(Tokenizer::from_gguf(*gguf_), testing::load_cases("written_" + GetParam().name));
  EXPECT_GT(compared, 10000u);
  std::cout << GetParam().name << ": " << compared << " ids equal to HF's\n";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WrittenTokenizer,
                         ::testing::Values(Source{"tiny_llama_bpe", "tiny_llama_bpe.gguf"},
                                           Source{"qwen2", "tokenizer_qwen2.gguf"},
                                           Source{"llama3", "tokenizer_llama3.gguf"},
                                           Source{"spm_llama", "tokenizer_spm_llama.gguf"},
                                           Source{"spm_gemma3", "tokenizer_spm_gemma3.gguf"}),
                         [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(RealModels, WrittenTokenizer,
                         ::testing::Values(Source{"smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", true},
                                           Source{"gemma3", "gemma-3-270m-q4_k_m.gguf", true},
                                           Source{"qwen2_5_coder", "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf", true}),
                         [](const auto& info) { return info.param.name; });

HfTokenizerFiles files_of(const std::string& fixture) {
  return hf_tokenizer_files(*io::GgufFile::open(fs::path(MACA_FIXTURES) / "gguf" / fixture));
}

TEST(HfTokenizerFiles, ConfigNamesTheSpecialTokensAndTheTemplate) {
  const HfTokenizerFiles files = files_of("tiny_llama_bpe.gguf");
  const json config = json::parse(files.at("tokenizer_config.json"));
  EXPECT_EQ(config.at("tokenizer_class"), "PreTrainedTokenizerFast");
  EXPECT_EQ(config.at("bos_token"), "<|begin_of_text|>");
  EXPECT_EQ(config.at("eos_token"), "<|end_of_text|>");
  EXPECT_EQ(config.at("pad_token"), "<|end_of_text|>");
  EXPECT_TRUE(config.at("unk_token").is_null());
  EXPECT_EQ(config.at("add_bos_token"), false);
  EXPECT_EQ(config.at("add_eos_token"), false);
  EXPECT_EQ(config.at("model_max_length"), 2048);
  EXPECT_EQ(config.at("clean_up_tokenization_spaces"), false);
  EXPECT_NE(config.at("chat_template").get<std::string>().find("add_generation_prompt"), std::string::npos);
  EXPECT_EQ(json::parse(files.at("generation_config.json")),
            json({{"bos_token_id", 0}, {"eos_token_id", 1}, {"pad_token_id", 1}}));
}

TEST(HfTokenizerFiles, EndOfTurnJoinsTheEosIds) {
  const HfTokenizerFiles files = files_of("tokenizer_qwen2.gguf");
  EXPECT_EQ(json::parse(files.at("generation_config.json")).at("eos_token_id"), json({1, 0}));
  EXPECT_FALSE(json::parse(files.at("tokenizer_config.json")).contains("model_max_length"));  // no context_length
}

TEST(HfTokenizerFiles, BosAddedAndUnknownTokenNotNamed) {
  const json config = json::parse(files_of("tokenizer_spm_llama.gguf").at("tokenizer_config.json"));
  EXPECT_EQ(config.at("add_bos_token"), true);
  EXPECT_EQ(config.at("bos_token"), "<s>");
  // <unk> is an UNKNOWN-type token, not an added one: transformers would add it as a special token.
  EXPECT_TRUE(config.at("unk_token").is_null());
  const json tokenizer = json::parse(files_of("tokenizer_spm_llama.gguf").at("tokenizer.json"));
  EXPECT_EQ(tokenizer.at("model").at("unk_token"), "<unk>");
  EXPECT_EQ(tokenizer.at("post_processor").at("type"), "TemplateProcessing");
}

TEST(HfTokenizerFiles, DamagedTokenizerIsAFileError) {
  // The older tiny model fixtures carry placeholder tokenizers whose merges name absent tokens.
  EXPECT_THROW(files_of("tiny_llama.gguf"), FileError);
}

}  // namespace
}  // namespace maca::tokenizer
