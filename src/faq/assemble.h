// The second half of `maca faq`, on rank 0 once every unit is on disk: the
// candidates go through the filters, the expert score and the group
// competition; the winners, in the target's format, are re-normalized into
// the calibration set, with the provenance of every choice.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/context.h"
#include "calib/calib_file.h"
#include "faq/job.h"

namespace maca::faq {

struct GenerationCost {
  double seconds = 0;  // summed over the unit files (rank time)
  int64_t new_tokens = 0;
  double wall_s = 0;  // rank 0, from the start of generation to assembly
  int ranks = 1;
};

// `cands` in request order (Job::requests).
calib::CalibSetFile assemble(const Job& job, const std::vector<Candidate>& cands, backend::Context& ctx,
                             const GenerationCost& cost);

}  // namespace maca::faq
