#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/text_stream.h"

using namespace maca;
namespace fs = std::filesystem;

namespace {
fs::path write_temp(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / "maca_test_text_stream";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}
}  // namespace

// "\n\n".join(rows) where rows are the lines and blank lines are "".
TEST(TextStream, WikitextRowsJoinedLikeTheLiterature) {
  const fs::path p = write_temp("wiki.test.raw", " \n = Title = \n \n Body text . \n");
  EXPECT_EQ(io::load_eval_text(p, io::TextFormat::Auto), "\n\n = Title = \n\n\n\n\n Body text . \n");
}

TEST(TextStream, RawIsUnchanged) {
  const fs::path p = write_temp("novel.txt", "a\r\n\r\nb");
  EXPECT_EQ(io::load_eval_text(p, io::TextFormat::Auto), "a\r\n\r\nb");
}

TEST(TextStream, JsonlTextFields) {
  const fs::path p = write_temp("c4.jsonl", "{\"text\": \"one\\u00e9\", \"url\": \"x\"}\n\n{\"text\": \"two\"}\n");
  EXPECT_EQ(io::load_eval_text(p, io::TextFormat::Auto), "one\xc3\xa9\n\ntwo");
}

TEST(TextStream, BadJsonlNamesFileAndLine) {
  const fs::path p = write_temp("bad.jsonl", "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
  try {
    io::load_eval_text(p, io::TextFormat::Jsonl);
    FAIL() << "expected an error";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
}

TEST(TextStream, MissingFileAndBadFormat) {
  EXPECT_THROW(io::load_eval_text("/nonexistent/wiki.test.raw", io::TextFormat::Auto), FileError);
  EXPECT_THROW(io::parse_text_format("xml"), Error);
}
