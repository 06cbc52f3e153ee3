#include "common/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace sg {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e8) return "?";
  auto s = static_cast<long long>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", s / 60, s % 60);
  return buffer;
}

ProgressLine::ProgressLine(std::string label, uint64_t total, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(uint64_t done, uint64_t counted) {
  if (!enabled_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_print_ < std::chrono::milliseconds(200)) return;
  last_print_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? static_cast<double>(counted) / elapsed : 0.0;
  std::string eta = "?";
  if (total_ > 0 && done > 0) eta = format_duration(elapsed * static_cast<double>(total_ - done) / static_cast<double>(done));
  std::fprintf(stderr, "\r%s %llu/%llu  %llu %s  %.0f %s/s  ETA %s   ", label_.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
               static_cast<unsigned long long>(counted), unit_.c_str(), rate, unit_.c_str(), eta.c_str());
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace sg
