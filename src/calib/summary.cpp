#include "calib/summary.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

namespace maca::calib {

CalibSummary summarize(const CalibSet& set, int64_t head) {
  CalibSummary s;
  s.sequences = static_cast<int64_t>(set.sequences.size());
  s.tokens = set.total_tokens();
  s.head = head;
  std::map<int64_t, int64_t> counts;
  double total = 0, in_head = 0;
  for (size_t i = 0; i < set.sequences.size(); ++i) {
    const auto len = static_cast<int64_t>(set.sequences[i].tokens.size());
    ++counts[len];
    for (int64_t t = 0; t < len; ++t) {
      const double w = set.row_weight(i, t);
      total += w;
      if (t < head) in_head += w;
    }
  }
  s.length_counts.assign(counts.begin(), counts.end());
  s.head_mass_fraction = total > 0 ? in_head / total : 0;
  return s;
}

std::string to_string(const CalibSummary& s) {
  std::vector<std::string> parts;
  for (const auto& [len, n] : s.length_counts) parts.push_back(fmt::format("{} x {}", len, n));
  return fmt::format("{} sequences, {} tokens ({}), {:.2f} % of the weight in the first {} positions", s.sequences,
                     s.tokens, fmt::join(parts, ", "), 100 * s.head_mass_fraction, s.head);
}

}  // namespace maca::calib
