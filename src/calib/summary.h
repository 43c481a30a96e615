// What a calibration set holds, for the log and report.json.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "calib/calib_set.h"

namespace maca::calib {

struct CalibSummary {
  int64_t sequences = 0;
  int64_t tokens = 0;
  std::vector<std::pair<int64_t, int64_t>> length_counts;  // (length, number of sequences), by length
  int64_t head = 128;
  double head_mass_fraction = 0;  // share of Σ row weights on positions 0..head-1
};

CalibSummary summarize(const CalibSet& set, int64_t head = 128);

// One line, e.g. "128 sequences, 262144 tokens (2048 x 128), 38.75 % of the weight in the first 128 positions".
std::string to_string(const CalibSummary& s);

}  // namespace maca::calib
