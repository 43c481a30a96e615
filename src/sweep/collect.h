// `maca sweep --collect`: every point's report.json in one table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sweep/sweep.h"

namespace maca::sweep {

// What one point's report says; the settings come from the point's resolved
// config, so points without a report still have a row.
struct Result {
  const Point* point = nullptr;
  std::string status;  // ok (report.json read), failed (a failed attempt's marker, or an unreadable report), missing
  std::optional<double> fp_ppl, quantized_ppl;
  std::optional<double> quantize_s;  // stages.total_s without the evaluations: calibration, block loop, export
  std::optional<double> peak_gib;    // peak_rss_bytes / 2^30
  std::string cpu;                   // provenance.cpu: results are reproducible per build and CPU
};

std::vector<Result> read_results(const Sweep& sweep);

// Writes <out>/results.csv (one row per point, values as read, full precision)
// and <out>/results.md (per (model, label, bits, group): mean ± sd over the
// points that are ok, i.e. over seeds; then every point). Returns the paths.
std::vector<std::filesystem::path> write_results(const Sweep& sweep, const std::vector<Result>& results);

}  // namespace maca::sweep
