// The progress bar: redrawn at most ten times a second, and only once the work has run for
// a second.
#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace colmax::cli {
namespace {

constexpr double kRedrawSeconds = 0.1;
constexpr int kBarWidth = 30;

std::string seconds_text(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  }
  return buf;
}

}  // namespace

ProgressStyle progress_style(const std::string& setting) {
  if (setting == "bar") return ProgressStyle::bar;
  if (setting == "plain") return ProgressStyle::plain;
  if (setting == "none") return ProgressStyle::none;
  return isatty(STDERR_FILENO) ? ProgressStyle::bar : ProgressStyle::none;
}

Progress::Progress(std::ostream& err, ProgressStyle style, std::string label, int64_t total,
                   std::string unit, double quiet_seconds)
    : err_(err),
      style_(style),
      label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      quiet_seconds_(quiet_seconds) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(int64_t n) {
  const int64_t done = done_.fetch_add(n, std::memory_order_relaxed) + n;
  if (style_ == ProgressStyle::none) return;
  const double now = clock_.seconds();
  if (now < quiet_seconds_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  if (style_ == ProgressStyle::bar && drawn_ && now - last_draw_ < kRedrawSeconds &&
      done < total_) {
    return;
  }
  draw(done, false);
  last_draw_ = now;
}

void Progress::draw(int64_t done, bool last) {
  const double frac = total_ > 0 ? std::min(1.0, double(done) / double(total_)) : 1.0;
  const double elapsed = clock_.seconds();
  if (style_ == ProgressStyle::plain) {
    const int decile = int(frac * 10);
    if (decile <= last_decile_ && !last) return;
    last_decile_ = decile;
    err_ << label_ << ": " << int(frac * 100) << "% (" << done << "/" << total_ << " " << unit_
         << ", " << seconds_text(elapsed) << ")\n";
    drawn_ = true;
    return;
  }
  const int filled = int(frac * kBarWidth);
  std::ostringstream line;
  line << "\r" << label_ << " [" << std::string(size_t(filled), '#')
       << std::string(size_t(kBarWidth - filled), ' ') << "] " << int(frac * 100) << "% " << done
       << "/" << total_ << " " << unit_ << "  " << seconds_text(elapsed);
  if (frac > 0 && frac < 1) line << ", ~" << seconds_text(elapsed * (1 - frac) / frac) << " left";
  line << "\x1b[K";  // clear the rest of the line
  err_ << line.str() << std::flush;
  drawn_ = true;
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (!drawn_) return;
  if (style_ == ProgressStyle::bar) {
    err_ << "\r\x1b[K" << std::flush;
  } else if (style_ == ProgressStyle::plain && last_decile_ < 10) {
    draw(done_.load(), true);
  }
}

}  // namespace colmax::cli
