#include "sweep/slurm.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "sweep/process.h"

namespace maca::sweep {

namespace fs = std::filesystem;

std::vector<std::string> points_lines(const Sweep& sweep) {
  std::vector<std::string> lines;
  for (const Point& p : sweep.points) {
    std::vector<std::string> args = quantize_args(sweep, p);
    args.erase(args.begin());  // "quantize": the script runs `maca quantize`
    std::string line = p.name;
    for (const std::string& a : args) {
      if (a.find_first_of("\t\n") != std::string::npos)
        MACA_THROW(ConfigError, "{}: point {} has a tab or a newline in '{}', which the points file cannot hold",
                   sweep.file.string(), p.name, a);
      line += '\t' + a;
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string array_ranges(const std::vector<int>& indices) {
  std::string out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? std::to_string(indices[i]) : fmt::format("{}-{}", indices[i], indices[j]);
    i = j + 1;
  }
  return out;
}

std::vector<std::string> sbatch_command(const Sweep& sweep, const SlurmOptions& options, const std::string& array,
                                        const fs::path& maca) {
  std::vector<std::string> cmd = {"sbatch", "--array=" + array, "--job-name=maca-sweep-" + sweep.name,
                                  "--output=" + (sweep.out / "logs" / "slurm-%A_%a.out").string(),
                                  "--export=ALL,MACA=" + maca.string()};
  std::istringstream extra(options.sbatch_args);
  for (std::string word; extra >> word;) cmd.push_back(word);
  cmd.push_back(options.script.string());
  cmd.push_back(sweep.out.string());
  return cmd;
}

void submit_slurm(const Sweep& sweep, const SlurmOptions& options) {
  const std::vector<std::string> lines = points_lines(sweep);
  std::vector<int> pending;
  for (const Point& p : sweep.points)
    if (!is_done(p)) pending.push_back(p.index);
  const std::vector<std::string> cmd = sbatch_command(sweep, options, array_ranges(pending), self_executable());

  if (options.dry_run) {
    fmt::print("# {} ({} lines; fields separated by tabs):\n", (sweep.out / "points").string(), lines.size());
    for (const std::string& l : lines) fmt::print("{}\n", l);
    fmt::print("# {} of {} points to submit:\n{}\n", pending.size(), lines.size(),
               pending.empty() ? "# nothing: every point is done" : shell_join(cmd));
    return;
  }
  const fs::path sbatch = find_on_path("sbatch");
  if (sbatch.empty())
    MACA_THROW(Error,
               "sbatch is not on PATH; submit from a Slurm login node, run the points here with --local, or "
               "see the command with --slurm --dry-run");

  write_point_table(sweep);
  fs::create_directories(sweep.out / "logs");
  const fs::path points = sweep.out / "points";
  {
    std::ofstream f(points);
    for (const std::string& l : lines) f << l << '\n';
    if (!f) MACA_THROW(FileError, "cannot write '{}'", points.string());
  }
  if (pending.empty()) {
    spdlog::info("sweep {}: all {} points are done; nothing to submit (collect with --collect)", sweep.name,
                 lines.size());
    return;
  }
  spdlog::info("sweep {}: submitting {} of {} points: {}", sweep.name, pending.size(), lines.size(), shell_join(cmd));
  const int code = wait_exit(spawn(sbatch, std::vector<std::string>(cmd.begin() + 1, cmd.end())));
  if (code != 0) MACA_THROW(Error, "sbatch failed with exit code {} (command: {})", code, shell_join(cmd));
  spdlog::info("sweep {}: logs in {}; when the jobs are done: maca sweep {} --collect", sweep.name,
               (sweep.out / "logs").string(), sweep.file.string());
}

}  // namespace maca::sweep
