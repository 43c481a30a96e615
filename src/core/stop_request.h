// Stopping cleanly on request: SIGUSR1 or SIGTERM (what Slurm sends before a
// time limit or preemption, see slurm/quantize.sbatch) only sets a flag; the
// long jobs check it between units of work (quantize: after each block's
// checkpoint is committed; faq: after each saved unit), agree on
// it across ranks and end the job with maca::Stopped (exit code 75), so the
// rerun resumes with the next block or unit instead of losing the one in flight.
#pragma once

namespace maca {

// Installs the handlers (idempotent). A second signal of the same kind
// restores the default action first, so a user can still kill a stuck job.
void install_stop_handlers();

// True once a stop was requested in this process.
bool stop_requested();

}  // namespace maca
