// A sweep: one base config and a grid of overrides, expanded into points.
//
// A sweep file (jobs/*.yaml, format in jobs/README.md) names a base config, a
// map `set` of overrides common to every point, and a `grid`: axis -> list of
// values. An axis named by a config key ("calib.seed: [0, 1]") sets that key;
// an axis whose values are maps ("method: [{label: gptq, quant.method: gptq},
// ...]") is a list of named variants, each setting several keys. The points are
// the cross product of the axes, the first axis varying slowest, minus the
// combinations listed under `exclude`. Every point gets a deterministic run
// directory "<out>/<index>-<labels>" and is checked up front: its whole config
// is resolved against the builtin schema, so a misspelt key or a bad value is
// an error naming the sweep file, the line and the key before anything runs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "settings/options.h"

namespace maca::sweep {

// One config assignment, as `maca quantize --set key=value` takes it.
struct Override {
  std::string key;
  std::string value;   // text that config::parse_value reads back ("4", "[128, 2048]")
  std::string source;  // where it was written, for messages ("jobs/x.yaml:12 (grid.method[1])")
};

// One value of a grid axis.
struct AxisValue {
  std::string label;  // part of the run directory name ("gptq-maca", "w4", "s1")
  std::string match;  // what `exclude` names it by: the variant label or the scalar value
  std::vector<Override> overrides;
};

struct Axis {
  std::string name;  // a config key, or a free name for an axis of variants
  bool variants = false;
  std::vector<AxisValue> values;
};

struct Point {
  int index = 0;
  std::string name;                 // run directory name: "<index>-<label>-<label>..."
  std::filesystem::path run_dir;    // <out>/<name>
  std::vector<std::string> labels;  // one per axis
  std::string label;                // what the results table calls it: the labels of the axes that set
                                    // keys other than model/bits/group/seed (those have their own columns);
                                    // quant.method when there are none
  std::vector<Override> overrides;  // set, then each axis in order, then the command line's
  config::Config config{config::builtin_schema()};  // resolved: base < overrides < run.dir
};

struct Sweep {
  std::filesystem::path file;  // the sweep file as given
  std::string name;
  std::filesystem::path base;  // the base config, found (absolute)
  std::filesystem::path out;   // absolute
  std::vector<Axis> grid;
  std::vector<Point> points;
};

// Reads, expands and validates a sweep file. `extra` overrides (from the
// command line) apply to every point after the grid's and must not name a key
// the grid varies; `out` (when not empty) replaces the file's `out`. Every
// problem is a maca::ConfigError naming the sweep file and the key.
Sweep load_sweep(const std::filesystem::path& file, const std::vector<Override>& extra = {},
                 const std::filesystem::path& out = {});

// `name` as written in `sweep_file` (a base config, a script): itself when
// absolute, else the first that exists of: beside the sweep file, in the folder
// above it (the repository, for a file in jobs/), in the current directory.
// Throws maca::ConfigError naming `what` and every place it looked.
std::filesystem::path find_beside(const std::filesystem::path& name, const std::filesystem::path& sweep_file,
                                  const std::string& what);

// Where a point's output goes (<out>/logs/<name>.log) and the marker a failed
// attempt leaves (<out>/logs/<name>.failed, holding the exit code);
// slurm/sweep.sbatch writes the same files.
std::filesystem::path log_file(const Sweep& sweep, const Point& point);
std::filesystem::path failed_marker(const Sweep& sweep, const Point& point);
// A point is done when its run directory has a report.json.
bool is_done(const Point& point);

// The arguments of `maca quantize` for a point (without the program name):
// quantize -c BASE --set k=v ... --set run.dir=RUN_DIR.
std::vector<std::string> quantize_args(const Sweep& sweep, const Point& point);

// `args` joined into one line that a POSIX shell reads back to the same words.
std::string shell_join(const std::vector<std::string>& args);

// Writes <out>/points.tsv: a header, then per point its index, name, run
// directory and overrides ("key=value" separated by spaces). Creates <out>.
void write_point_table(const Sweep& sweep);

}  // namespace maca::sweep
