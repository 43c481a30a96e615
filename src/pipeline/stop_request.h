// Stopping cleanly on request: SIGUSR1 or SIGTERM (what Slurm sends before a
// time limit or preemption, see slurm/quantize.sbatch) only sets a flag; the
// block loop checks it after each block's checkpoint is committed, agrees on
// it across ranks and ends the job with maca::Stopped (exit code 75), so the
// rerun resumes at the next block instead of losing the block in flight.
#pragma once

namespace maca::pipeline {

// Installs the handlers (idempotent). A second signal of the same kind
// restores the default action first, so a user can still kill a stuck job.
void install_stop_handlers();

// True once a stop was requested in this process.
bool stop_requested();

}  // namespace maca::pipeline
