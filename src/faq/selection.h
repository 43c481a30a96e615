// FAQ's group competition (algorithms.md §5.6): a candidate's expert score is
// minus the trimmed mean of its token NLLs (outliers at both ends dropped),
// scores are z-normalized within the group over the candidates that passed
// the filters, and the best m win (ties: lower candidate index).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace maca::faq {

// Mean of `values` after dropping floor(trim · n) of the smallest and of the
// largest (never all of them). 0 for an empty span.
double trimmed_mean(std::span<const double> values, double trim);

// −mean over channels of (ln a[c] − ln b[c])²: 0 for identical per-channel
// RMS profiles, more negative the further apart (channels where either is 0
// are skipped).
double activation_score(std::span<const double> a, std::span<const double> b);

struct Contender {
  bool passed = false;  // through the filters
  double score = 0;     // higher is better (−trimmed mean NLL)
};

struct GroupResult {
  std::vector<double> z;         // per candidate; 0 for those that did not pass
  std::vector<int64_t> winners;  // candidate indices, best first
};

// With `ranked` false (faq.score=none) the first m passing candidates win in
// index order and every z is 0.
GroupResult compete(std::span<const Contender> group, int64_t m, bool ranked);

}  // namespace maca::faq
