#pragma once
// The programs' flags, checked where they are parsed so that a message can
// name the flag: numbers refuse NaN, infinity, fractions where a whole
// number is wanted and anything out of range, in words ("--batch: must be
// at least 1 (got 0)"); a bad flag or a failed run is one line on stderr.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace sg::cli {

// Allowed values of a number; open bounds exclude their end.
// long double: exact for every 64-bit integer.
struct Bounds {
  long double min = -std::numeric_limits<long double>::infinity();
  long double max = std::numeric_limits<long double>::infinity();
  bool min_open = false;
  bool max_open = false;
};
inline Bounds at_least(long double min) { return {min, std::numeric_limits<long double>::infinity(), false, false}; }
inline Bounds above(long double min) { return {min, std::numeric_limits<long double>::infinity(), true, false}; }
inline Bounds between(long double min, long double max) { return {min, max, false, false}; }
// [min, max): probabilities and decays that must stay below 1.
inline Bounds below(long double min, long double max) { return {min, max, false, true}; }
inline Bounds any_number() { return {}; }

// Why `text` is not a number within `bounds` ("" when it is): a finite
// number, whole when `whole`, inside the bounds. A whole number is rewritten
// in plain digits ("1e3" -> "1000") for CLI11's integer conversion.
// `representable`: what the variable holds (an int's range), said after
// the bounds ("1e308" for an int: "must be at most 2147483647").
std::string number_problem(std::string& text, const Bounds& bounds, bool whole, const Bounds& representable = {});
// Why `text` is not one of `allowed` ("" when it is).
std::string choice_problem(const std::string& text, const std::vector<long long>& allowed);

// How Bounds read in --help: "at least 1", "in [0, 1)"; "" when unbounded.
std::string describe(const Bounds& bounds);

template <typename T>
CLI::Option* add_number(CLI::App& app, const std::string& names, T& value, const std::string& help, Bounds bounds) {
  static_assert(std::is_arithmetic_v<T>, "add_number takes a number");
  constexpr bool whole = std::is_integral_v<T>;
  // "1e308" for an int is out of range, not a conversion error.
  const Bounds representable = between(static_cast<long double>(std::numeric_limits<T>::lowest()),
                                       static_cast<long double>(std::numeric_limits<T>::max()));
  auto check = [bounds, representable](std::string& text) { return number_problem(text, bounds, whole, representable); };
  // transform, not check: CLI11 hands check() a copy, and the rewrite must reach the conversion.
  return app.add_option(names, value, help)->transform(CLI::Validator(check, describe(bounds)));
}

template <typename T>
CLI::Option* add_choice(CLI::App& app, const std::string& names, T& value, const std::string& help,
                        const std::vector<long long>& allowed) {
  static_assert(std::is_integral_v<T>, "add_choice takes a whole number");
  std::string listed;
  for (long long v : allowed) listed += (listed.empty() ? "" : ",") + std::to_string(v);
  auto check = [allowed](std::string& text) { return choice_problem(text, allowed); };
  return app.add_option(names, value, help)->check(CLI::Validator(check, "{" + listed + "}"));
}

// Parses the flags. Returns -1 to go on; otherwise the exit code: 0 after
// --help (printed), 2 after a bad flag, printed as one line
// "program: error: ...".
int parse_flags(CLI::App& app, int argc, char** argv, const std::string& program);

// What a failed run prints: "program: error: <the first line of what>"; the
// rest (LibTorch's frames behind a c10::Error) only with SG_DEBUG=1.
std::string error_line(const std::string& program, const std::string& what);
void print_error(const std::string& program, const std::exception& error);

// SG_DEBUG=1 in the environment.
bool debug_output();

}  // namespace sg::cli
