// FAQ's re-normalization (algorithms.md §5.7): the winners become
// calibration sequences of the target's length, optionally mixed with the
// original samples and weighted per sample.
//
//  concat:   winners joined in group order into one stream and cut into
//            windows of seq_len; n_total = the original set's count, of
//            which round(n_total · (1 − mix)) are regenerated windows. When
//            the winners fall short, originals fill the rest (reported).
//  truncate: one sequence per winner, cut at seq_len; then
//            round(count · mix / (1 − mix)) originals are added.
// Weights: 1, or with `normalize` mean length / own length.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calib/calib_file.h"

namespace maca::faq {

struct PackInput {
  std::vector<calib::CalibSample> winners;    // in group order, kind "regenerated"
  std::vector<calib::CalibSample> originals;  // the original calibration set, in order
  int64_t seq_len = 2048;
  bool concat = true;
  double mix = 0.0;
  bool normalize = false;
};

struct PackResult {
  std::vector<calib::CalibSample> samples;
  int64_t regenerated = 0, original = 0;
  int64_t shortfall = 0;  // concat: windows the winners could not fill
};

PackResult pack(const PackInput& in);

}  // namespace maca::faq
