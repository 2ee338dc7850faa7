// progress.hpp — a progress bar on stderr for work that takes more than a second.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>

#include "timing.hpp"

namespace colmax::cli {

enum class ProgressStyle {
  none,   // nothing
  bar,    // one line redrawn in place (a terminal)
  plain,  // a line at every 10% (logs, CI)
};

// "auto" -> bar when stderr is a terminal, else none; "bar", "plain", "none".
ProgressStyle progress_style(const std::string& setting);

// Shows nothing for the first second, so quick steps stay quiet. advance() may be called
// from several threads.
class Progress {
 public:
  // Nothing is shown before `quiet_seconds` have passed.
  Progress(std::ostream& err, ProgressStyle style, std::string label, int64_t total,
           std::string unit, double quiet_seconds = 1.0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t n);
  void finish();  // clears the bar (the caller prints its own summary)

 private:
  void draw(int64_t done, bool last);

  std::ostream& err_;
  ProgressStyle style_;
  std::string label_, unit_;
  int64_t total_;
  std::atomic<int64_t> done_{0};
  std::mutex mutex_;
  Stopwatch clock_;
  double quiet_seconds_;
  double last_draw_ = 0;
  int last_decile_ = 0;
  bool drawn_ = false, finished_ = false;
};

}  // namespace colmax::cli
