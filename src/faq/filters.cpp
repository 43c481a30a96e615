#include "faq/filters.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace maca::faq {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Ok:
      return "ok";
    case Verdict::Empty:
      return "empty";
    case Verdict::TooShort:
      return "too_short";
    case Verdict::Repetition:
      return "repetition";
    case Verdict::Truncated:
      return "truncated";
  }
  return "?";
}

double repeat_ratio(std::span<const int32_t> tokens, int64_t n) {
  const auto len = static_cast<int64_t>(tokens.size());
  if (n <= 0 || len < n) return 0.0;
  std::vector<std::span<const int32_t>> grams;
  for (int64_t i = 0; i + n <= len; ++i)
    grams.push_back(tokens.subspan(static_cast<size_t>(i), static_cast<size_t>(n)));
  auto less = [](std::span<const int32_t> a, std::span<const int32_t> b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  };
  std::sort(grams.begin(), grams.end(), less);
  int64_t distinct = 0;
  for (size_t i = 0; i < grams.size(); ++i) distinct += i == 0 || less(grams[i - 1], grams[i]);
  return 1.0 - static_cast<double>(distinct) / static_cast<double>(grams.size());
}

Verdict judge(const gen::Generated& g, std::span<const int32_t> content_tokens, const std::string& text,
              const FilterOptions& opt) {
  const bool blank =
      std::all_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (content_tokens.empty() || blank) return Verdict::Empty;
  if (static_cast<int64_t>(content_tokens.size()) < opt.min_new_tokens) return Verdict::TooShort;
  if (repeat_ratio(content_tokens, opt.repeat_ngram) > opt.max_repeat) return Verdict::Repetition;
  if (opt.drop_truncated && g.reason == gen::StopReason::MaxTokens) return Verdict::Truncated;
  return Verdict::Ok;
}

}  // namespace maca::faq
