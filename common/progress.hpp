#pragma once
// A live progress line (rate and ETA) on a terminal; silent in logs.
#include <chrono>
#include <cstdint>
#include <string>

namespace sg {

bool stderr_is_terminal();

// Formats seconds as h:mm:ss or m:ss.
std::string format_duration(double seconds);

class ProgressLine {
 public:
  // `total` work units (0 when unknown); `unit` names what is counted for
  // the rate, e.g. "slices".
  ProgressLine(std::string label, uint64_t total, std::string unit, bool enabled);
  ~ProgressLine();

  // `done` of `total` units finished, `counted` items of `unit` so far;
  // prints at most five times a second.
  void update(uint64_t done, uint64_t counted);
  void finish();

 private:
  std::string label_, unit_;
  uint64_t total_;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace sg
