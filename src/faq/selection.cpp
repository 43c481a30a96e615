#include "faq/selection.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace maca::faq {

double trimmed_mean(std::span<const double> values, double trim) {
  if (values.empty()) return 0.0;
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  size_t drop = static_cast<size_t>(std::floor(trim * static_cast<double>(n)));
  if (2 * drop >= n) drop = (n - 1) / 2;
  double sum = 0;
  for (size_t i = drop; i < n - drop; ++i) sum += v[i];
  return sum / static_cast<double>(n - 2 * drop);
}

double activation_score(std::span<const double> a, std::span<const double> b) {
  double sum = 0;
  int64_t n = 0;
  for (size_t c = 0; c < std::min(a.size(), b.size()); ++c)
    if (a[c] > 0 && b[c] > 0) {
      const double d = std::log(a[c]) - std::log(b[c]);
      sum += d * d;
      ++n;
    }
  return n ? -sum / static_cast<double>(n) : 0.0;
}

GroupResult compete(std::span<const Contender> group, int64_t m, bool ranked) {
  GroupResult r;
  r.z.assign(group.size(), 0.0);
  std::vector<int64_t> passing;
  for (size_t i = 0; i < group.size(); ++i)
    if (group[i].passed) passing.push_back(static_cast<int64_t>(i));
  if (ranked && !passing.empty()) {
    double mean = 0, var = 0;
    for (const int64_t i : passing) mean += group[i].score;
    mean /= static_cast<double>(passing.size());
    for (const int64_t i : passing) var += (group[i].score - mean) * (group[i].score - mean);
    const double sd = std::sqrt(var / static_cast<double>(passing.size()));
    for (const int64_t i : passing) r.z[i] = sd > 0 ? (group[i].score - mean) / sd : 0.0;
    std::stable_sort(passing.begin(), passing.end(), [&](int64_t a, int64_t b) { return r.z[a] > r.z[b]; });
  }
  passing.resize(std::min<size_t>(passing.size(), static_cast<size_t>(m)));
  r.winners = passing;
  return r;
}

}  // namespace maca::faq
