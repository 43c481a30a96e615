// Unicode helpers and the hand-written split patterns on small cases whose
// answers follow from the regex definitions (the fixtures cover the rest).
#include <gtest/gtest.h>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace maca::tokenizer {
namespace {

std::vector<std::string> split(SplitRegex re, const std::string& text) {
  PreTokenizerStep step;
  step.kind = PreTokenizerStep::Kind::Split;
  step.regex = re;
  std::vector<Piece> pieces{{text, true}};
  pre_tokenize(step, pieces);
  std::vector<std::string> out;
  for (const Piece& p : pieces) out.push_back(p.text);
  return out;
}

using Pieces = std::vector<std::string>;

TEST(Unicode, Categories) {
  EXPECT_TRUE(is_letter(U'a'));
  EXPECT_TRUE(is_letter(U'é'));
  EXPECT_TRUE(is_letter(U'中'));
  EXPECT_FALSE(is_letter(U'\u0301'));  // combining acute: Mn, not L
  EXPECT_TRUE(is_number(U'7'));
  EXPECT_TRUE(is_number(U'\u00BD'));  // ½ is No
  EXPECT_TRUE(is_number(U'\u0663'));  // Arabic-Indic three
  EXPECT_TRUE(is_whitespace(U'\u3000'));
  EXPECT_TRUE(is_whitespace(U'\u00A0'));
  EXPECT_FALSE(is_whitespace(U'\u200B'));  // zero width space is not White_Space
  EXPECT_FALSE(is_whitespace(U'\x1C'));
}

TEST(Unicode, Utf8RoundTripAndLossy) {
  std::string s;
  for (char32_t cp : {U'A', U'\u00E9', U'\u4E2D', U'\U0001F600'}) append_utf8(cp, s);
  size_t len = 0;
  EXPECT_EQ(decode_utf8(s, 0, len), U'A');
  EXPECT_EQ(decode_utf8(s, 3, len), U'\u4E2D');
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(decode_utf8(s, 6, len), U'\U0001F600');
  EXPECT_EQ(utf8_lossy("a\xF0\x9F\x98"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");                                                 // truncated emoji -> one U+FFFD
  EXPECT_EQ(utf8_lossy("\xC0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: two
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                    // surrogate
}

TEST(Unicode, ByteLevelMapIsABijection) {
  for (int b = 0; b < 256; ++b) {
    uint8_t back = 0;
    ASSERT_TRUE(unicode_to_byte(byte_to_unicode()[b], back));
    EXPECT_EQ(back, b);
  }
  EXPECT_EQ(byte_to_unicode()[' '], U'\u0120');  // Ġ
  uint8_t b;
  EXPECT_FALSE(unicode_to_byte(U' ', b));
}

TEST(SplitRegex, Gpt2) {
  EXPECT_EQ(split(SplitRegex::Gpt2, "Hello world's  end 123!!\n\n x"),
            (Pieces{"Hello", " world", "'s", " ", " end", " 123", "!!", "\n\n", " x"}));
  EXPECT_EQ(split(SplitRegex::Gpt2, "I'M  "), (Pieces{"I", "'", "M", "  "}));
}

TEST(SplitRegex, Llama3AndQwen2) {
  EXPECT_EQ(split(SplitRegex::Llama3, "I'M 12345 (abc)\r\n \n  x"),
            (Pieces{"I", "'M", " ", "123", "45", " (", "abc", ")\r\n", " \n", " ", " x"}));
  EXPECT_EQ(split(SplitRegex::Qwen2, "x 123"), (Pieces{"x", " ", "1", "2", "3"}));
  EXPECT_EQ(split(SplitRegex::Llama3, "\tfoo"), (Pieces{"\tfoo"}));
}

TEST(SplitRegex, KnownPatternsOnly) {
  EXPECT_EQ(find_split_regex(R"(\p{N}{1,3})"), std::nullopt);
  EXPECT_EQ(find_split_regex(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
            SplitRegex::Gpt2);
}

}  // namespace
}  // namespace maca::tokenizer
