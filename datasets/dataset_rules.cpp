#include "datasets/dataset_rules.hpp"

#include <algorithm>

#include "common/errors.hpp"
#include "datasets/glob.hpp"

namespace sg {

std::string regex_pattern_problem(const std::string& regex) {
  constexpr size_t kMaxLength = 1024;
  constexpr int kMaxDepth = 32;
  constexpr long kMaxCount = 1000;
  if (regex.size() > kMaxLength)
    return "longer than " + std::to_string(kMaxLength) + " characters (" + std::to_string(regex.size()) + ")";
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  // Reads the digit run at `i` (advancing it); false when its value passes kMaxCount.
  auto count_fits = [&](size_t& i) {
    long value = 0;
    for (; i < regex.size() && is_digit(regex[i]); ++i) {
      value = value * 10 + (regex[i] - '0');
      if (value > kMaxCount) return false;
    }
    return true;
  };
  int depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < regex.size();) {
    char c = regex[i];
    if (c == '\\') {
      ++i;
      if (i < regex.size() && is_digit(regex[i]) && !in_class) {
        if (!count_fits(i)) return "a back-reference past \\" + std::to_string(kMaxCount);
      } else {
        ++i;
      }
      continue;
    }
    ++i;
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (i < regex.size() && regex[i] == '^') ++i;
      if (i < regex.size() && regex[i] == ']') ++i;  // a leading ']' is a member
    } else if (c == '(') {
      if (++depth > kMaxDepth) return "groups nested deeper than " + std::to_string(kMaxDepth);
    } else if (c == ')') {
      depth = std::max(0, depth - 1);
    } else if (c == '{') {
      while (i < regex.size() && (is_digit(regex[i]) || regex[i] == ',')) {
        if (regex[i] == ',') {
          ++i;
        } else if (!count_fits(i)) {
          return "a repeat count past " + std::to_string(kMaxCount);
        }
      }
    }
  }
  return "";
}

std::regex DatasetRules::compile(const PathPattern& pattern) {
  std::string problem = regex_pattern_problem(pattern.regex());
  if (!problem.empty())
    throw ConfigError(pattern.regex().size() > 64 ? pattern.regex().substr(0, 64) + "..." : pattern.regex(),
                      "regex refused: " + problem);
  auto flags = std::regex::ECMAScript;
  if (pattern.ignore_case()) flags |= std::regex::icase;
  return std::regex(pattern.regex(), flags);
}

DatasetRules::DatasetRules(const DatasetConfig& config) : config_(config) {
  if (config.has_subject() && !config.subject().pattern().regex().empty())
    subject_ = compile(config.subject().pattern());
  for (const FolderSplit& f : config.split().folders()) folders_.emplace_back(compile(f.folder()), f.split());
  for (const FlipRule& r : config.flip().rules()) mirror_.push_back(compile(r.mirror()));
}

bool DatasetRules::selects(const std::string& path, bool is_supported) const {
  bool included = config_.include_size() == 0 ? is_supported : false;
  for (const std::string& glob : config_.include())
    if (glob_match(glob, path)) included = true;
  if (!included) return false;
  for (const std::string& glob : config_.exclude())
    if (glob_match(glob, path)) return false;
  return true;
}

void DatasetRules::check_length(const std::string& path) {
  if (path.size() > kMaxPathBytes)
    throw InputError(path.substr(0, 64) + "...", "path longer than " + std::to_string(kMaxPathBytes) + " bytes (" +
                                                     std::to_string(path.size()) + ")");
}

std::string DatasetRules::subject_of(const std::string& path) const {
  check_length(path);
  if (subject_) {
    std::smatch m;
    if (std::regex_search(path, m, *subject_)) return m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
  }
  size_t slash = path.rfind('/');
  std::string file = slash == std::string::npos ? path : path.substr(slash + 1);
  return file.substr(0, file.find('.'));
}

std::optional<Split> DatasetRules::split_of(const std::string& path) const {
  check_length(path);
  switch (config_.split().mode()) {
    case SplitRule::SUBJECT_HASH:
      return TRAIN;
    case SplitRule::FOLDERS: {
      size_t start = 0;
      for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1) {
        const std::string folder = path.substr(start, slash - start);
        for (const auto& [regex, split] : folders_)
          if (std::regex_search(folder, regex)) return split;
      }
      return std::nullopt;
    }
    default:
      return TRAIN;
  }
}

bool DatasetRules::mirrors(const std::string& path) const {
  check_length(path);
  for (const std::regex& r : mirror_)
    if (std::regex_search(path, r)) return true;
  return false;
}

}  // namespace sg
