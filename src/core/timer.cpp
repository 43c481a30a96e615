#include "core/timer.h"

#include <cmath>

#include "core/log.h"

namespace maca {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  const auto t = static_cast<int64_t>(s);
  if (t < 3600) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
}

Progress::Progress(std::string what, int64_t total, std::string unit, double interval_s)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_s_(interval_s) {}

void Progress::advance(int64_t n) {
  done_ += n;
  const double t = timer_.seconds();
  if (t - last_report_ < interval_s_) return;
  last_report_ = t;
  reported_ = true;
  const double rate = done_ / std::max(t, 1e-9);
  const double eta = rate > 0 ? (total_ - done_) / rate : NAN;
  spdlog::info("{}: {}/{} {} ({:.1f}%), {:.1f} {}/s, ETA {}", what_, done_, total_, unit_,
               total_ ? 100.0 * done_ / total_ : 100.0, rate, unit_, format_duration(eta));
}

void Progress::finish() {
  const double t = timer_.seconds();
  if (reported_ || t >= interval_s_)
    spdlog::info("{}: {} {} in {} ({:.1f} {}/s)", what_, done_, unit_, format_duration(t),
                 done_ / std::max(t, 1e-9), unit_);
}

}  // namespace maca
