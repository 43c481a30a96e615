// Wall-clock timing and progress reporting for long work.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace maca {

class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Logs "<what>: done/total unit (pct), rate unit/s, ETA" at most every
// `interval_s` seconds, and a final line from finish(). Silent for work that
// ends before the first interval.
class Progress {
 public:
  Progress(std::string what, int64_t total, std::string unit, double interval_s = 5.0);
  void advance(int64_t n = 1);
  void finish();
  int64_t done() const { return done_; }

 private:
  std::string what_, unit_;
  int64_t total_, done_ = 0;
  double interval_s_, last_report_ = 0.0;
  bool reported_ = false;
  Timer timer_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12.3s"

}  // namespace maca
