// FAQ's hard filters (algorithms.md §5.5): a candidate is dropped when it is
// empty, too short, caught in a repetition loop, or (optionally) truncated
// at the token limit. Pure functions of the candidate, so every rank and
// every rerun judges alike.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "gen/generator.h"

namespace maca::faq {

enum class Verdict { Ok, Empty, TooShort, Repetition, Truncated };
const char* verdict_name(Verdict v);

struct FilterOptions {
  int64_t min_new_tokens = 64;
  int64_t repeat_ngram = 4;
  double max_repeat = 0.5;
  bool drop_truncated = false;
};

// 1 − distinct n-grams / all n-grams of `tokens` (0 when shorter than n).
double repeat_ratio(std::span<const int32_t> tokens, int64_t n);

// `text` is the candidate decoded without special tokens; `content_tokens`
// its tokens without a final stop id.
Verdict judge(const gen::Generated& g, std::span<const int32_t> content_tokens, const std::string& text,
              const FilterOptions& opt);

}  // namespace maca::faq
