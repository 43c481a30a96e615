#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "calib/sampler.h"
#include "calib/token_source.h"
#include "settings/options.h"
#include "config/search.h"
#include "core/error.h"

using namespace maca;
using namespace maca::calib;
namespace fs = std::filesystem;

namespace {

fs::path write_temp(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / "maca_test_calib";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

// Little-endian bytes of `ids`.
std::string le_bytes(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    const auto u = static_cast<uint32_t>(id);
    for (int b = 0; b < 4; ++b) out += static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return out;
}

const tokenizer::Tokenizer& tiny_tokenizer() {
  static const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_tokenizer_json(
      fs::path(MACA_FIXTURES) / "tokenizer" / "tiny_bytelevel_llama3.tokenizer.json");
  return tok;
}

template <class F>
std::string file_error_of(F&& f) {
  try {
    f();
  } catch (const FileError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a FileError";
  return {};
}

}  // namespace

TEST(CalibTokens, TokenFileRoundTrip) {
  const int32_t vocab = tiny_tokenizer().vocab_size();
  const std::vector<int32_t> ids = {0, 1, 258, vocab - 1, 7};
  for (const char* name : {"ok.tokens", "ok.i32"}) {
    const fs::path p = write_temp(name, le_bytes(ids));
    EXPECT_EQ(load_calibration_tokens(p, io::TextFormat::Auto, tiny_tokenizer()), ids) << name;
  }
}

TEST(CalibTokens, TokenFileWithPartialIdNamesFileAndSize) {
  const fs::path p = write_temp("short.tokens", le_bytes({1, 2}) + "xy");
  const std::string msg = file_error_of([&] { read_token_file(p, 100); });
  EXPECT_NE(msg.find("short.tokens"), std::string::npos) << msg;
  EXPECT_NE(msg.find("10 bytes is not a multiple of 4"), std::string::npos) << msg;
}

TEST(CalibTokens, TokenFileWithIdOutsideVocabularyNamesPosition) {
  const fs::path p = write_temp("big.i32", le_bytes({1, 2, 100, 3}));
  std::string msg = file_error_of([&] { read_token_file(p, 100); });
  EXPECT_NE(msg.find("big.i32"), std::string::npos) << msg;
  EXPECT_NE(msg.find("token 2 (byte offset 8) is id 100"), std::string::npos) << msg;
  const fs::path neg = write_temp("neg.i32", le_bytes({-1}));
  msg = file_error_of([&] { read_token_file(neg, 100); });
  EXPECT_NE(msg.find("token 0 (byte offset 0) is id -1"), std::string::npos) << msg;
}

TEST(CalibTokens, JsonlDocumentsFormOneStreamWithoutSpecialTokens) {
  const auto& tok = tiny_tokenizer();
  const fs::path p = write_temp("docs.jsonl", "{\"text\": \"hello world\"}\n{\"text\": \"second doc\"}\n");
  EXPECT_EQ(load_calibration_tokens(p, io::TextFormat::Auto, tok), tok.encode("hello world\n\nsecond doc", false));
  const fs::path raw = write_temp("plain.txt", "hello world");
  EXPECT_EQ(load_calibration_tokens(raw, io::TextFormat::Auto, tok), tok.encode("hello world", false));
}

TEST(CalibTokens, BadJsonlLineNamesFileAndLine) {
  const fs::path p = write_temp("bad.jsonl", "{\"text\": \"ok\"}\nnot json\n");
  const std::string msg = file_error_of([&] { load_calibration_tokens(p, io::TextFormat::Auto, tiny_tokenizer()); });
  EXPECT_NE(msg.find("bad.jsonl:2"), std::string::npos) << msg;
}

TEST(CalibTokens, MissingCalibrationFileListsTheSearchPath) {
  const config::Config cfg(config::builtin_schema());
  try {
    config::find_data_file("c4-sample/no-such-calibration.jsonl", cfg);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("data file 'c4-sample/no-such-calibration.jsonl' not found; looked in:"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("(as given)"), std::string::npos) << msg;
  }
  EXPECT_THROW(load_calibration_tokens("/nonexistent/calib.jsonl", io::TextFormat::Auto, tiny_tokenizer()), FileError);
  EXPECT_THROW(load_calibration_tokens("/nonexistent/calib.tokens", io::TextFormat::Auto, tiny_tokenizer()), FileError);
}

// The default calibration data (algorithms.md §6) loads and samples.
TEST(CalibTokens, C4SampleLoadsAndSamples) {
  const config::Config cfg(config::builtin_schema());
  fs::path path;
  try {
    path = config::find_data_file("c4-sample/c4-en-train.00000-of-01024.first1000.jsonl", cfg);
  } catch (const Error&) {
    GTEST_SKIP() << "C4 sample not found in the data search path";
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = load_calibration_tokens(path, io::TextFormat::Auto, tiny_tokenizer());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(ids.size(), 128u * 2048u) << "the sample should hold more than the default 128 x 2048 tokens";
  RecordProperty("tokens", static_cast<int>(ids.size()));
  RecordProperty("seconds", std::to_string(seconds));
  const CalibSet set = sample_calibration(ids, SamplerOptions{});
  EXPECT_EQ(set.total_tokens(), 128 * 2048);
}
