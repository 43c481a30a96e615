// `maca sweep --slurm`: the points as one Slurm array job (slurm/sweep.sbatch).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sweep/sweep.h"

namespace maca::sweep {

struct SlurmOptions {
  std::filesystem::path script;  // the array job script, found
  std::string sbatch_args;       // extra sbatch arguments, split at spaces
  bool dry_run = false;
};

// The lines of <out>/points that slurm/sweep.sbatch reads, one per point in
// index order (array task i reads line i + 1): the point's name, then the
// arguments of `maca quantize` after the word quantize, separated by tabs.
// A value holding a tab or a newline is a ConfigError.
std::vector<std::string> points_lines(const Sweep& sweep);

// Array indices as sbatch's --array takes them: "0-3,5,7-9".
std::string array_ranges(const std::vector<int>& indices);

// sbatch --array=ARRAY --job-name=maca-sweep-NAME --output=OUT/logs/slurm-%A_%a.out
//        --export=ALL,MACA=MACA_BINARY [sbatch_args...] SCRIPT OUT
std::vector<std::string> sbatch_command(const Sweep& sweep, const SlurmOptions& options, const std::string& array,
                                        const std::filesystem::path& maca);

// Writes <out>/points, <out>/points.tsv and <out>/logs, then submits one
// array task per point that is not done yet (nothing when all are). With
// `dry_run`, prints the points file and the sbatch command instead and needs
// no sbatch. A missing sbatch or a failed submission is a maca::Error.
void submit_slurm(const Sweep& sweep, const SlurmOptions& options);

}  // namespace maca::sweep
