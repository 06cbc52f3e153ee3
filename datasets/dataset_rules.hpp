#pragma once
// A dataset's naming rules: which files are taken, whose scan each is
// (subject id), which split it belongs to, and whether it is mirrored.
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "dataset.pb.h"

namespace sg {

class DatasetRules {
 public:
  // libstdc++'s regex search recurses per character: a rule like
  // "([^/_]+)_" overflows the stack on a name of some 30,000 characters (a zip
  // member name may hold 65,535). Longer paths are refused (InputError); no
  // file system opens one anyway (PATH_MAX).
  static constexpr size_t kMaxPathBytes = 4096;

  explicit DatasetRules(const DatasetConfig& config);

  // Include/exclude globs over the relative path; without includes, every
  // name `is_supported` accepts.
  bool selects(const std::string& relative_path, bool is_supported) const;

  // The subject id: the first capture group of the subject rule, else the
  // file name without its extensions.
  std::string subject_of(const std::string& relative_path) const;

  // The split its folders give (TRAIN in SUBJECT_HASH and ALL_TRAIN modes),
  // or nullopt when FOLDERS mode finds no split folder in the path. Which
  // TRAIN subjects are then held out is HeldOutSubjects' (held_out.hpp).
  std::optional<Split> split_of(const std::string& relative_path) const;

  bool mirrors(const std::string& relative_path) const;

 private:
  static std::regex compile(const PathPattern& pattern);
  static void check_length(const std::string& path);

  DatasetConfig config_;
  std::optional<std::regex> subject_;
  std::vector<std::pair<std::regex, Split>> folders_;
  std::vector<std::regex> mirror_;
};

// Why libstdc++'s std::regex must not be given `regex`, or "" when it may:
// its compiler multiplies a repeat count or back-reference number digit by
// digit in an int (undefined past 2^31) and recurses once per term and per
// nesting level, so a long or deeply nested pattern exhausts the stack.
// Bounds generous for path rules: 1,024 characters, 32 nested groups, counts
// and back-references up to 1,000.
std::string regex_pattern_problem(const std::string& regex);

}  // namespace sg
