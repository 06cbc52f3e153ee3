#include "datasets/glob.hpp"

namespace sg {

namespace {

// Matches a bracket expression at pattern[0] == '['; returns the length of
// the expression, or 0 when malformed (then '[' is a literal).
size_t match_class(std::string_view p, char c, bool* matched) {
  size_t i = 1;
  bool negate = i < p.size() && (p[i] == '!' || p[i] == '^');
  if (negate) ++i;
  bool found = false;
  bool first = true;
  while (i < p.size() && (p[i] != ']' || first)) {
    first = false;
    char lo = p[i];
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      if (c >= lo && c <= p[i + 2]) found = true;
      i += 3;
    } else {
      if (c == lo) found = true;
      ++i;
    }
  }
  if (i >= p.size()) return 0;
  *matched = (found != negate) && c != '/';
  return i + 1;
}

bool match(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    if (p.substr(0, 3) == "**/") {
      std::string_view rest = p.substr(3);
      if (match(rest, s)) return true;
      for (size_t k = 0; k < s.size(); ++k)
        if (s[k] == '/' && match(rest, s.substr(k + 1))) return true;
      return false;
    }
    if (p.substr(0, 2) == "**") {
      std::string_view rest = p.substr(2);
      for (size_t k = 0; k <= s.size(); ++k)
        if (match(rest, s.substr(k))) return true;
      return false;
    }
    if (p[0] == '*') {
      std::string_view rest = p.substr(1);
      for (size_t k = 0; k <= s.size(); ++k) {
        if (match(rest, s.substr(k))) return true;
        if (k < s.size() && s[k] == '/') return false;
      }
      return false;
    }
    if (s.empty()) return false;
    if (p[0] == '?') {
      if (s[0] == '/') return false;
      p.remove_prefix(1);
      s.remove_prefix(1);
      continue;
    }
    if (p[0] == '[') {
      bool matched = false;
      size_t len = match_class(p, s[0], &matched);
      if (len > 0) {
        if (!matched) return false;
        p.remove_prefix(len);
        s.remove_prefix(1);
        continue;
      }
    }
    if (p[0] != s[0]) return false;
    p.remove_prefix(1);
    s.remove_prefix(1);
  }
  return s.empty();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) { return match(pattern, path); }

}  // namespace sg
