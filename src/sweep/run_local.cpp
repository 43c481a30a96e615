#include "sweep/run_local.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <array>
#include <csignal>
#include <deque>
#include <fstream>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"
#include "sweep/process.h"

namespace maca::sweep {
namespace {

namespace fs = std::filesystem;

// The point running now and whether a stop was asked for; globals because
// signal handlers can reach nothing else.
volatile std::sig_atomic_t g_stop = 0;
volatile pid_t g_child = 0;

// SIGINT from a terminal reaches the point too (same process group); SIGTERM
// and SIGUSR1 (Slurm, kill) are passed on.
extern "C" void on_stop_signal(int sig) {
  g_stop = 1;
  if (g_child > 0 && sig != SIGINT) kill(g_child, sig);
}

// Stops the sweep after the running point on SIGINT, SIGTERM or SIGUSR1
// while alive; restores the previous handlers when it goes out of scope.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa = {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGUSR1};
  std::array<struct sigaction, 3> old_ = {};
};

// What to show of a failed point's log: its error lines (maca logs an error
// on one line), else its last lines.
std::string log_excerpt(const fs::path& log) {
  std::ifstream in(log);
  std::vector<std::string> errors;
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    if (line.find("] error: ") != std::string::npos || line.find("] critical: ") != std::string::npos)
      errors.push_back(line);
    last.push_back(line);
    if (last.size() > 5) last.pop_front();
  }
  std::string text;
  for (const std::string& l : errors.empty() ? std::vector<std::string>(last.begin(), last.end()) : errors)
    text += "\n    " + l;
  return text;
}

}  // namespace

int run_local(const Sweep& sweep, bool dry_run) {
  const fs::path exe = self_executable();
  if (dry_run) {
    for (const Point& p : sweep.points) {
      std::vector<std::string> words = {exe.string()};
      const auto args = quantize_args(sweep, p);
      words.insert(words.end(), args.begin(), args.end());
      fmt::print("{}{}\n", is_done(p) ? "# done, skipped: " : "", shell_join(words));
    }
    return 0;
  }

  write_point_table(sweep);
  fs::create_directories(sweep.out / "logs");
  const int total = static_cast<int>(sweep.points.size());
  int to_run = 0;
  for (const Point& p : sweep.points) to_run += is_done(p) ? 0 : 1;
  spdlog::info("sweep {}: {} points, {} to run, {} already done; logs in {}", sweep.name, total, to_run, total - to_run,
               (sweep.out / "logs").string());

  const StopSignals signals;
  Timer elapsed;
  int ran = 0, stopped_at = -1;
  std::vector<std::string> failed;
  for (const Point& p : sweep.points) {
    if (is_done(p)) continue;
    if (g_stop) break;
    const fs::path log = log_file(sweep, p);
    fs::remove(failed_marker(sweep, p));
    const auto args = quantize_args(sweep, p);
    std::ofstream(log, std::ios::app) << "=== maca sweep " << sweep.name << ": " << exe.string() << " "
                                      << shell_join(args) << "\n";
    spdlog::info("[{}/{}] {}: running (log: {})", p.index + 1, total, p.name, log.string());
    Timer t;
    g_child = spawn(exe, args, log);
    const int code = wait_exit(g_child);
    g_child = 0;
    std::string outcome = fmt::format("ok in {}", format_duration(t.seconds()));
    if (code == kStoppedExitCode || (code != 0 && g_stop)) {
      outcome = fmt::format("stopped after {} (exit code {}); re-run the sweep to resume it",
                            format_duration(t.seconds()), code);
      stopped_at = p.index;
    } else if (code != 0) {
      std::ofstream(failed_marker(sweep, p)) << code << "\n";
      failed.push_back(p.name);
      outcome = fmt::format("FAILED with exit code {} after {}", code, format_duration(t.seconds()));
    }
    if (stopped_at < 0) ++ran;
    const int left = to_run - ran;
    spdlog::info("[{}/{}] {}: {} | {} run, {} failed, {} left{}", p.index + 1, total, p.name, outcome, ran,
                 failed.size(), left,
                 left > 0 && stopped_at < 0 ? ", ETA " + format_duration(elapsed.seconds() / ran * left) : "");
    if (code != 0 && stopped_at < 0) spdlog::warn("{} failed; from {}:{}", p.name, log.string(), log_excerpt(log));
    if (stopped_at >= 0) break;
  }

  int done = 0;
  for (const Point& p : sweep.points) done += is_done(p) ? 1 : 0;
  spdlog::info("sweep {}: {} of {} points done in {}{}", sweep.name, done, total, format_duration(elapsed.seconds()),
               failed.empty() ? "" : fmt::format("; {} FAILED: {}", failed.size(), fmt::join(failed, ", ")));
  if (!failed.empty()) return 1;
  if (stopped_at >= 0 || g_stop) return kStoppedExitCode;
  return 0;
}

}  // namespace maca::sweep
