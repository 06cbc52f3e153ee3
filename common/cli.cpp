#include "common/cli.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace sg::cli {

namespace {

// Bounds as a person writes them: 1, 0.5, 1e-08, 2147483647.
std::string show(long double value) {
  std::ostringstream s;
  s.precision(std::fabs(value) < 1e15L ? 10 : 20);
  s << value;
  return s.str();
}

std::string got(const std::string& text) {
  return " (got " + (text.size() > 40 ? text.substr(0, 40) + "..." : text) + ")";
}

}  // namespace

std::string describe(const Bounds& b) {
  const bool has_min = std::isfinite(b.min), has_max = std::isfinite(b.max);
  if (has_min && has_max)
    return "in " + std::string(b.min_open ? "(" : "[") + show(b.min) + ", " + show(b.max) + (b.max_open ? ")" : "]");
  if (has_min) return (b.min_open ? "above " : "at least ") + show(b.min);
  if (has_max) return (b.max_open ? "below " : "at most ") + show(b.max);
  return "";
}

std::string number_problem(std::string& text, const Bounds& bounds, bool whole, const Bounds& representable) {
  const char* start = text.c_str();
  char* end = nullptr;
  const long double value = std::strtold(start, &end);
  const bool number = end != start && *end == '\0' && !std::isspace(static_cast<unsigned char>(text[0]));
  if (!number) return std::string(whole ? "must be a whole number" : "must be a number") + got(text);
  if (!std::isfinite(value)) return std::string(whole ? "must be a whole number" : "must be a finite number") + got(text);
  if (whole && std::floor(value) != value) return "must be a whole number" + got(text);
  for (const Bounds* b : {&bounds, &representable}) {
    const bool too_low = b->min_open ? !(value > b->min) : !(value >= b->min);
    const bool too_high = b->max_open ? !(value < b->max) : !(value <= b->max);
    if (!too_low && !too_high) continue;
    if (too_low) return std::string("must be ") + (b->min_open ? "above " : "at least ") + show(b->min) + got(text);
    return std::string("must be ") + (b->max_open ? "below " : "at most ") + show(b->max) + got(text);
  }
  if (whole)
    text = value < 0 ? std::to_string(static_cast<long long>(value)) : std::to_string(static_cast<unsigned long long>(value));
  return "";
}

std::string choice_problem(const std::string& text, const std::vector<long long>& allowed) {
  const char* start = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(start, &end, 10);
  const bool whole = end != start && *end == '\0' && errno == 0;
  for (long long a : allowed)
    if (whole && a == value) return "";
  std::string listed;
  for (size_t i = 0; i < allowed.size(); ++i)
    listed += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + std::to_string(allowed[i]);
  return "must be " + listed + got(text);
}

bool debug_output() {
  const char* debug = std::getenv("SG_DEBUG");
  return debug != nullptr && std::string(debug) == "1";
}

std::string error_line(const std::string& program, const std::string& what) {
  const size_t newline = what.find('\n');
  const std::string shown = newline == std::string::npos || debug_output() ? what : what.substr(0, newline);
  return program + ": error: " + shown;
}

void print_error(const std::string& program, const std::exception& error) {
  std::fprintf(stderr, "%s\n", error_line(program, error.what()).c_str());
}

int parse_flags(CLI::App& app, int argc, char** argv, const std::string& program) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s\n", error_line(program, e.what()).c_str());
    return 2;
  }
}

}  // namespace sg::cli
