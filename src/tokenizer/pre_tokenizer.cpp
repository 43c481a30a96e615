#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <cstdint>

#include "tokenizer/unicode.h"

namespace maca::tokenizer {

namespace {

struct Span {
  size_t begin, end;  // byte offsets
  bool is_match;
};

// The text as code points with their byte offsets (one sentinel offset at the end).
struct Codepoints {
  std::vector<char32_t> cp;
  std::vector<size_t> offset;
  explicit Codepoints(std::string_view text) {
    for (size_t pos = 0, len = 0; pos < text.size(); pos += len) {
      cp.push_back(decode_utf8(text, pos, len));
      offset.push_back(pos);
    }
    offset.push_back(text.size());
  }
  size_t size() const { return cp.size(); }
};

bool is_other(char32_t c) { return !is_whitespace(c) && !is_letter(c) && !is_number(c); }
bool is_newline(char32_t c) { return c == '\r' || c == '\n'; }

// Length in code points of the contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t match_contraction(const Codepoints& t, size_t i, bool ignore_case) {
  if (t.cp[i] != '\'' || i + 1 >= t.size()) return 0;
  const auto at = [&](size_t k) -> char32_t {
    if (i + k >= t.size()) return 0;
    char32_t c = t.cp[i + k];
    if (!ignore_case) return c;
    if (c == 0x17F) return 's';  // LATIN SMALL LETTER LONG S case-folds to s
    return c < 0x80 && c >= 'A' && c <= 'Z' ? c + 32 : c;
  };
  switch (at(1)) {
    case 's':
    case 't':
    case 'm':
    case 'd':
      return 2;
    case 'r':
      return at(2) == 'e' ? 3 : 0;
    case 'v':
      return at(2) == 'e' ? 3 : 0;
    case 'l':
      return at(2) == 'l' ? 3 : 0;
    default:
      return 0;
  }
}

template <class Pred>
size_t run_end(const Codepoints& t, size_t i, Pred pred, size_t limit = SIZE_MAX) {
  size_t j = i;
  while (j < t.size() && j - i < limit && pred(t.cp[j])) ++j;
  return j;
}

// \s+(?!\S) then \s+ at i (t.cp[i] is whitespace): the run, minus its last
// character when a non-space follows it and the run is longer than one.
size_t match_whitespace_tail(const Codepoints& t, size_t i) {
  const size_t j = run_end(t, i, is_whitespace);
  return (j < t.size() && j - i > 1) ? j - 1 : j;
}

// End (code point index) of the match of `re` that starts at i.
size_t match_at(SplitRegex re, const Codepoints& t, size_t i) {
  const char32_t c = t.cp[i];
  const bool has_next = i + 1 < t.size();
  if (re == SplitRegex::Gpt2) {
    if (size_t n = match_contraction(t, i, false)) return i + n;
    const size_t s = (c == ' ' && has_next) ? i + 1 : i;  // " ?"
    for (auto pred : {is_letter, is_number, is_other})
      if (pred(t.cp[s])) return run_end(t, s, pred);
    return match_whitespace_tail(t, i);
  }
  if (size_t n = match_contraction(t, i, true)) return i + n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (!is_newline(c) && !is_letter(c) && !is_number(c) && has_next && is_letter(t.cp[i + 1]))
    return run_end(t, i + 1, is_letter);
  if (is_letter(c)) return run_end(t, i, is_letter);
  if (is_number(c)) return run_end(t, i, is_number, re == SplitRegex::Llama3 ? 3 : 1);
  // " ?[^\s\p{L}\p{N}]+[\r\n]*"
  const size_t s = (c == ' ' && has_next && is_other(t.cp[i + 1])) ? i + 1 : i;
  if (is_other(t.cp[s])) return run_end(t, run_end(t, s, is_other), is_newline);
  // \s*[\r\n]+ : up to the last newline of the whitespace run
  const size_t j = run_end(t, i, is_whitespace);
  for (size_t k = j; k > i; --k)
    if (is_newline(t.cp[k - 1])) return k;
  return match_whitespace_tail(t, i);
}

std::vector<Span> regex_spans(SplitRegex re, std::string_view text) {
  const Codepoints t(text);
  std::vector<Span> spans;
  for (size_t i = 0; i < t.size();) {
    const size_t j = match_at(re, t, i);
    spans.push_back({t.offset[i], t.offset[j], true});
    i = j;
  }
  return spans;
}

// Matches of a literal string, or of every single character satisfying `pred`
// when `literal` is empty; the gaps between them are non-matches.
template <class Pred>
std::vector<Span> literal_spans(std::string_view text, std::string_view literal, Pred pred) {
  std::vector<Span> spans;
  size_t gap = 0;
  const auto add_match = [&](size_t b, size_t e) {
    if (b > gap) spans.push_back({gap, b, false});
    spans.push_back({b, e, true});
    gap = e;
  };
  if (!literal.empty()) {
    for (size_t pos = text.find(literal); pos != std::string_view::npos; pos = text.find(literal, gap))
      add_match(pos, pos + literal.size());
  } else {
    for (size_t pos = 0, len = 0; pos < text.size(); pos += len)
      if (pred(decode_utf8(text, pos, len))) add_match(pos, pos + len);
  }
  if (gap < text.size()) spans.push_back({gap, text.size(), false});
  return spans;
}

// HF NormalizedString::split: applies the behavior to the covering spans and
// returns the non-empty pieces as byte ranges.
std::vector<std::pair<size_t, size_t>> apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Span& s : spans)
        if (!s.is_match) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::Isolated:
      for (const Span& s : spans) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::MergedWithPrevious:
    case SplitBehavior::Contiguous:
      for (const Span& s : spans) {
        const bool merge =
            behavior == SplitBehavior::Contiguous ? s.is_match == previous_match : s.is_match && !previous_match;
        if (merge && !out.empty())
          out.back().second = s.end;
        else
          out.emplace_back(s.begin, s.end);
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty())
          out.back().first = it->begin;
        else
          out.emplace_back(it->begin, it->end);
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
  }
  std::erase_if(out, [](const auto& r) { return r.first == r.second; });
  return out;
}

std::string byte_level_encode(std::string_view text) {
  const auto& map = byte_to_unicode();
  std::string out;
  out.reserve(text.size() * 2);
  for (unsigned char b : text) append_utf8(map[b], out);
  return out;
}

constexpr std::pair<SplitBehavior, std::string_view> kBehaviorNames[] = {
    {SplitBehavior::Removed, "Removed"},
    {SplitBehavior::Isolated, "Isolated"},
    {SplitBehavior::MergedWithPrevious, "MergedWithPrevious"},
    {SplitBehavior::MergedWithNext, "MergedWithNext"},
    {SplitBehavior::Contiguous, "Contiguous"}};

}  // namespace

std::string_view split_regex_pattern(SplitRegex regex) {
  switch (regex) {
    case SplitRegex::Gpt2:
      return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
    case SplitRegex::Llama3:
      return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    case SplitRegex::Qwen2:
      return R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  }
  return {};
}

std::optional<SplitRegex> find_split_regex(std::string_view pattern) {
  for (SplitRegex re : {SplitRegex::Gpt2, SplitRegex::Llama3, SplitRegex::Qwen2})
    if (pattern == split_regex_pattern(re)) return re;
  return std::nullopt;
}

std::optional<SplitBehavior> parse_split_behavior(std::string_view name) {
  for (const auto& [behavior, n] : kBehaviorNames)
    if (n == name) return behavior;
  return std::nullopt;
}

std::string_view split_behavior_name(SplitBehavior behavior) {
  for (const auto& [b, name] : kBehaviorNames)
    if (b == behavior) return name;
  return {};
}

void pre_tokenize(const PreTokenizerStep& step, std::vector<Piece>& pieces) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  const auto split = [&](Piece& piece, const std::vector<Span>& spans, SplitBehavior behavior) {
    bool first = true;
    for (auto [b, e] : apply_behavior(spans, behavior)) {
      out.push_back({piece.text.substr(b, e - b), piece.at_start && first && b == 0});
      first = false;
    }
  };
  using Kind = PreTokenizerStep::Kind;
  for (Piece& piece : pieces) {
    switch (step.kind) {
      case Kind::ByteLevel: {
        if (step.add_prefix_space && !piece.text.starts_with(' ')) piece.text.insert(0, 1, ' ');
        const size_t first_new = out.size();
        if (step.use_regex)
          split(piece, regex_spans(SplitRegex::Gpt2, piece.text), SplitBehavior::Isolated);
        else
          out.push_back(std::move(piece));
        for (size_t k = first_new; k < out.size(); ++k) out[k].text = byte_level_encode(out[k].text);
        break;
      }
      case Kind::Digits:
        split(piece, literal_spans(piece.text, "", is_number),
              step.individual_digits ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
        break;
      case Kind::Split:
        split(piece,
              step.regex ? regex_spans(*step.regex, piece.text) : literal_spans(piece.text, step.literal, is_number),
              step.behavior);
        break;
      case Kind::Metaspace: {
        piece.text = replace_all(piece.text, " ", step.replacement);
        const bool prepend = step.prepend_scheme == PrependScheme::Always ||
                             (step.prepend_scheme == PrependScheme::First && piece.at_start);
        if (prepend && !piece.text.starts_with(step.replacement)) piece.text.insert(0, step.replacement);
        if (step.split)
          split(piece, literal_spans(piece.text, step.replacement, is_number), SplitBehavior::MergedWithNext);
        else
          out.push_back(std::move(piece));
        break;
      }
    }
  }
  pieces = std::move(out);
}

}  // namespace maca::tokenizer
