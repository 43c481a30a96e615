#include "calib/calib_set.h"

#include "core/error.h"

namespace maca::calib {

int64_t CalibSet::total_tokens() const {
  int64_t n = 0;
  for (const CalibSequence& s : sequences) n += static_cast<int64_t>(s.tokens.size());
  return n;
}

double CalibSet::row_weight(size_t s, int64_t t) const {
  MACA_ASSERT(s < sequences.size() && t >= 0 && t < static_cast<int64_t>(sequences[s].tokens.size()),
              "row ({}, {}) outside the calibration set", s, t);
  const double w = sequences[s].weight;
  if (position_weight.empty()) return w;
  MACA_ASSERT(t < static_cast<int64_t>(position_weight.size()), "position {} has no weight", t);
  return w * position_weight[static_cast<size_t>(t)];
}

}  // namespace maca::calib
