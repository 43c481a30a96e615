// `maca quantize`: the whole job on one or many ranks (design.md, data flow;
// docs/architecture.md).
//
//   validate every option against the model's shapes (before any work)
//   -> tokenize the calibration data, sample the calibration set
//   -> fingerprint; resume after the run dir's last committed block, or
//      refuse a changed job (run_checkpoint.h)
//   -> this rank's share of the sequences, embedded; for each block: load,
//      replay from the checkpoint or quantize (block_quantizer.h) and commit
//   -> export from the checkpoint (export_run.h), rank 0
//   -> evaluate the full-precision and the quantized model (optional, windows
//      sharded over the ranks) -> run.dir/report.json
//
// Memory per rank: one block's weights, this rank's calibration activations
// (one stream, two for asymmetric methods), the block's statistics and its
// rounded layers until the block is committed; nothing grows with the number
// of blocks (docs/results.md has the formula).
#pragma once

#include <filesystem>

namespace maca::config {
class Config;
}

namespace maca::pipeline {

// Runs the job with `requested` completed for the model (resolve_for_model in
// job_options.h); returns the run directory. Throws maca::ConfigError for bad
// options before any work starts, maca::Error/FileError for failures later.
std::filesystem::path run_quantize(const config::Config& requested);

}  // namespace maca::pipeline
