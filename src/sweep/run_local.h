// `maca sweep --local`: the points one after another on this machine.
#pragma once

#include "sweep/sweep.h"

namespace maca::sweep {

// Runs every point whose run directory has no report.json yet, each as a
// child `maca quantize` (this same executable) with its output appended to
// <out>/logs/<name>.log; a failed point is reported (log tail, marker file)
// and the sweep goes on; a progress line with an ETA follows every point.
// SIGTERM and SIGUSR1 are passed to the running point; they and SIGINT end the
// sweep after that point. With `dry_run`, prints each point's command instead (done points as
// comments) and writes nothing. Returns 0 when every point is done, 1 when
// some failed, kStoppedExitCode when a point or the sweep was stopped.
int run_local(const Sweep& sweep, bool dry_run);

}  // namespace maca::sweep
