#pragma once
// Exceptions of the library: every one carries the file it concerns and the
// reason, so that programs can print one clear line.
#include <cstdio>
#include <stdexcept>
#include <string>

namespace sg {

class Error : public std::runtime_error {
 public:
  Error(std::string file, std::string reason)
      : std::runtime_error(file.empty() ? reason : file + ": " + reason),
        file_(std::move(file)),
        reason_(std::move(reason)) {}
  const std::string& file() const { return file_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, reason_;
};

// The first line of a message (a LibTorch error carries its C++ frames
// after it).
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// A problem with one input (a bad scan): skipped or fatal per --on-error.
class InputError : public Error {
 public:
  using Error::Error;
};

// A problem with the configuration file.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A problem with the output or the environment: always fatal.
class OutputError : public Error {
 public:
  using Error::Error;
};

// A byte count that may exceed 2^64 (absurd headers), for messages:
// converting it to an integer would be undefined behaviour.
inline std::string byte_count_text(long double bytes) {
  char text[48];
  if (bytes < 1e18L)
    std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof text, "%.3Le", bytes);
  return text;
}

}  // namespace sg
