// Pre-tokenization as HF `tokenizers` does it: the text (already cut at added
// tokens and normalized) is split into pieces, and BPE runs on each piece.
//
// The split patterns of the supported models are regular expressions in their
// tokenizer.json (GPT-2, LLaMA-3, Qwen2). They are implemented here by hand,
// with the same leftmost-alternative and backtracking semantics as Oniguruma
// for exactly these patterns, instead of a regex engine; any other pattern is
// rejected when the tokenizer is loaded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maca::tokenizer {

// The hand-written regex splitters.
enum class SplitRegex {
  Gpt2,    // 's|'t|...| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ (ByteLevel use_regex)
  Llama3,  // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  Qwen2,   // as Llama3 with \p{N} single digits
};
// The splitter whose pattern is exactly `pattern`, or none.
std::optional<SplitRegex> find_split_regex(std::string_view pattern);
// The regular expression `regex` implements, as tokenizer.json spells it.
std::string_view split_regex_pattern(SplitRegex regex);

// What happens to the matches of a split pattern (HF SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
std::optional<SplitBehavior> parse_split_behavior(std::string_view name);
std::string_view split_behavior_name(SplitBehavior behavior);

// Metaspace prepend scheme: put the replacement before every piece, before
// the piece at the start of the input only, or never.
enum class PrependScheme { Always, First, Never };

// One pre-tokenizer of a (possibly sequential) pre-tokenizer.
struct PreTokenizerStep {
  enum class Kind { ByteLevel, Digits, Split, Metaspace };
  Kind kind = Kind::ByteLevel;
  bool add_prefix_space = false;                     // ByteLevel
  bool use_regex = true;                             // ByteLevel: split with SplitRegex::Gpt2 first
  bool individual_digits = false;                    // Digits
  std::optional<SplitRegex> regex;                   // Split: the pattern is a regex ...
  std::string literal;                               // ... or this literal string
  SplitBehavior behavior = SplitBehavior::Isolated;  // Split
  std::string replacement;                           // Metaspace (UTF-8 of one character)
  PrependScheme prepend_scheme = PrependScheme::Always;
  bool split = true;  // Metaspace: split before each replacement
};

// A piece of text; `at_start` marks the piece that begins the input (what
// Metaspace's "first" prepend scheme looks at).
struct Piece {
  std::string text;
  bool at_start = false;
};

// Applies `step` to every piece, in place.
void pre_tokenize(const PreTokenizerStep& step, std::vector<Piece>& pieces);

}  // namespace maca::tokenizer
