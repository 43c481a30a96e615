// UTF-8 and Unicode helpers for the tokenizers: code point decoding, the
// character classes the pre-tokenizer patterns use (\p{L}, \p{N}, \s as
// Oniguruma and Rust define them: general categories L*, N* and the
// White_Space property), and GPT-2's byte <-> printable-character map.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace maca::tokenizer {

// Decodes the code point starting at text[pos] and stores its byte length in
// `len`. An invalid or truncated sequence decodes as U+FFFD of length 1.
char32_t decode_utf8(std::string_view text, size_t pos, size_t& len);
// Appends the UTF-8 encoding of `cp` to `out`.
void append_utf8(char32_t cp, std::string& out);
// `bytes` with every ill-formed UTF-8 subsequence replaced by U+FFFD, as Rust's
// String::from_utf8_lossy does (what HF decoders return for broken bytes).
std::string utf8_lossy(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);

// `s` with every occurrence of `from` (non-empty) replaced by `to`, in one pass.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);

bool is_letter(char32_t cp);      // \p{L}
bool is_number(char32_t cp);      // \p{N}
bool is_whitespace(char32_t cp);  // \s, White_Space

// GPT-2 byte-level alphabet: every byte maps to one printable code point
// (printable Latin-1 bytes map to themselves, the rest to U+0100 + n).
const std::array<char32_t, 256>& byte_to_unicode();
// Inverse of byte_to_unicode(); returns false for a code point outside it.
bool unicode_to_byte(char32_t cp, uint8_t& byte);

namespace detail {
struct CodepointRange {
  char32_t first, last;
};
extern const CodepointRange kLetterRanges[];
extern const size_t kLetterRanges_size;
extern const CodepointRange kNumberRanges[];
extern const size_t kNumberRanges_size;
}  // namespace detail

}  // namespace maca::tokenizer
