#include <fmt/format.h>

#include "cli/commands.h"
#include "settings/options.h"
#include "core/error.h"
#include "core/log.h"
#include "sweep/collect.h"
#include "sweep/run_local.h"
#include "sweep/slurm.h"
#include "sweep/sweep.h"

namespace maca::cli {
namespace {

// Keys given on the sweep's own command line (-c, --set, --threads, ...)
// other than sweep.*: they apply to every point.
std::vector<sweep::Override> point_overrides(const config::Config& cfg) {
  std::vector<sweep::Override> out;
  for (const config::Option& o : cfg.schema().options())
    if (!o.key.starts_with("sweep.") && cfg.source(o.key) != "default")
      out.push_back({o.key, config::format_value(cfg.value(o.key)), cfg.source(o.key)});
  return out;
}

int run_sweep(const config::Config& cfg) {
  const std::string file = cfg.get_string("sweep.file");
  if (file.empty())
    MACA_THROW(ConfigError,
               "maca sweep: no sweep file; usage: maca sweep jobs/FILE.yaml [--local | --slurm | "
               "--collect] [--dry-run]");
  const bool slurm = cfg.get_bool("sweep.slurm"), collect = cfg.get_bool("sweep.collect"),
             dry_run = cfg.get_bool("sweep.dry_run");
  if (cfg.get_bool("sweep.local") + slurm + collect > 1)
    MACA_THROW(ConfigError, "maca sweep: choose one of --local, --slurm and --collect");
  if (collect && dry_run) MACA_THROW(ConfigError, "maca sweep: --dry-run goes with --local or --slurm, not --collect");

  const sweep::Sweep s = sweep::load_sweep(file, point_overrides(cfg), cfg.get_string("sweep.out"));
  spdlog::info("sweep {}: {} points from {} (base {}) into {}", s.name, s.points.size(), file, s.base.string(),
               s.out.string());
  if (collect) {
    const auto results = sweep::read_results(s);
    for (const auto& path : sweep::write_results(s, results)) fmt::print("{}\n", path.string());
    return 0;
  }
  if (slurm) {
    sweep::submit_slurm(s, {.script = sweep::find_beside(cfg.get_string("sweep.script"), file, "sbatch script"),
                            .sbatch_args = cfg.get_string("sweep.sbatch_args"),
                            .dry_run = dry_run});
    return 0;
  }
  const int code = sweep::run_local(s, dry_run);
  if (!dry_run) {
    const auto paths = sweep::write_results(s, sweep::read_results(s));
    spdlog::info("results: {}", paths.back().string());
  }
  return code;
}

}  // namespace

Command sweep_command() {
  return {.name = "sweep",
          .summary = "run a grid of quantize jobs (here or as a Slurm array) and tabulate their reports",
          .description =
              "Expands a sweep file (jobs/*.yaml: a base config, common overrides and a grid of models x methods x\n"
              "bits x seeds; format in jobs/README.md) into points, checks every point's config, and gives each\n"
              "a run directory <out>/<index>-<labels>. Then, one of:\n"
              "  --local (default)  run the points here one after another as `maca quantize`, skipping those\n"
              "                     with a report.json, going on after a failure (exit 1 at the end), and\n"
              "                     collect the results; SIGINT/SIGTERM/SIGUSR1 stop it after the running point\n"
              "  --slurm            write <out>/points and submit slurm/sweep.sbatch as an array job, one task\n"
              "                     per point not done yet (--sbatch-args='--partition=gpu --time=4:00:00')\n"
              "  --collect          read every point's report.json into <out>/results.csv and results.md\n"
              "                     (mean ± sd over seeds per model, label, bits and group)\n"
              "--dry-run prints the commands (local) or the points file and the sbatch command (slurm).\n"
              "Keys given with --set (or --threads, ...) apply to every point. Examples:\n"
              "  maca sweep jobs/quality-table.yaml --dry-run\n"
              "  maca sweep jobs/quality-table.yaml --set eval.max_windows=4\n"
              "  maca sweep jobs/quality-table.yaml --slurm --sbatch-args='--partition=gpu'\n"
              "  maca sweep jobs/quality-table.yaml --collect",
          .sections = {"sweep"},
          .flags = {{"file", "sweep.file", "FILE"},
                    {"local", "sweep.local", ""},
                    {"slurm", "sweep.slurm", ""},
                    {"collect", "sweep.collect", ""},
                    {"dry-run", "sweep.dry_run", ""},
                    {"out", "sweep.out", "DIR"},
                    {"sbatch-args", "sweep.sbatch_args", "ARGS"},
                    {"script", "sweep.script", "FILE"}},
          .positional_flag = "file",
          .logs_config = false,
          .run = run_sweep};
}

}  // namespace maca::cli
