#include "datasets/dataset_config.hpp"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/errors.hpp"
#include "datasets/dataset_rules.hpp"

namespace sg {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

class CollectFirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (message_.empty()) {
      line_ = line;
      column_ = column;
      message_ = message;
    }
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  bool has_error() const { return !message_.empty(); }
  int line() const { return line_ + 1; }
  int column() const { return column_ + 1; }
  const std::string& message() const { return message_; }

 private:
  int line_ = 0, column_ = 0;
  std::string message_;
};

// Reports a bad value at the line where its field was written.
class Checker {
 public:
  Checker(const std::string& file, const TextFormat::ParseInfoTree& tree) : file_(file), tree_(tree) {}

  // `path` names nested fields, e.g. {"crop", "margin"}; `index` selects an
  // element of the last, repeated field.
  [[noreturn]] void fail(std::initializer_list<const char*> path, const std::string& reason, int index = -1) const {
    const Descriptor* descriptor = DatasetConfig::descriptor();
    const TextFormat::ParseInfoTree* tree = &tree_;
    std::string dotted;
    int line = -1;
    size_t depth = 0;
    for (const char* name : path) {
      const FieldDescriptor* field = descriptor ? descriptor->FindFieldByName(name) : nullptr;
      dotted += (dotted.empty() ? "" : ".") + std::string(name);
      ++depth;
      if (!field || !tree) break;
      bool last = depth == path.size();
      int i = field->is_repeated() ? (last && index >= 0 ? index : 0) : -1;
      auto location = tree->GetLocation(field, i);
      // List syntax ("[8, 12]") records the field's line once, at element 0.
      if (location.line < 0 && i > 0) location = tree->GetLocation(field, 0);
      if (location.line >= 0) line = location.line + 1;
      if (!last && field->type() == FieldDescriptor::TYPE_MESSAGE) {
        tree = tree->GetTreeForNested(field, i);
        descriptor = field->message_type();
      }
    }
    if (index >= 0) dotted += "[" + std::to_string(index) + "]";
    std::string where = file_ + (line > 0 ? ":" + std::to_string(line) : "");
    throw ConfigError(where, dotted + ": " + reason);
  }

 private:
  std::string file_;
  const TextFormat::ParseInfoTree& tree_;
};

void check_regex(const Checker& check, std::initializer_list<const char*> path, const PathPattern& pattern,
                 int index = -1) {
  if (pattern.regex().empty()) check.fail(path, "an empty regex matches everything; give one", index);
  std::string problem = regex_pattern_problem(pattern.regex());
  if (!problem.empty()) check.fail(path, "regex refused: " + problem, index);
  try {
    std::regex re(pattern.regex(), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    check.fail(path, "bad regex '" + pattern.regex() + "': " + e.what(), index);
  }
}

void validate_labels(const LabelRule& labels, const Checker& check) {
  const bool by_path = labels.has_pattern(), by_table = labels.has_table();
  if (by_path == by_table) check.fail({"labels"}, "give exactly one label source: `pattern` or `table`");
  if (by_path) check_regex(check, {"labels", "pattern"}, labels.pattern());
  if (by_table) {
    const SubjectTable& t = labels.table();
    if (t.path().empty()) check.fail({"labels", "table"}, "`path` names the CSV file");
    if (t.subject_column().empty()) check.fail({"labels", "table"}, "`subject_column` names the subject id's column");
    if (t.label_column().empty()) check.fail({"labels", "table"}, "`label_column` names the label's column");
  }
  if (labels.classes_size() < 2) check.fail({"labels", "classes"}, "give at least two classes");
  std::set<std::string> names;
  const bool numeric = labels.classes(0).has_below();
  for (int i = 0; i < labels.classes_size(); ++i) {
    const LabelClass& k = labels.classes(i);
    if (k.name().empty()) check.fail({"labels", "classes"}, "a class needs a name", i);
    if (k.name().find_first_of(",\n\r\"/\\") != std::string::npos || k.name() == "." || k.name() == ".." ||
        k.name() == "all")
      check.fail({"labels", "classes"},
                 "a class name holds no comma, quote, slash or line break, and is not '.', '..' or 'all'", i);
    if (!names.insert(k.name()).second) check.fail({"labels", "classes"}, "'" + k.name() + "' is listed twice", i);
    if (k.has_values()) {
      PathPattern values;
      values.set_regex(k.values());
      check_regex(check, {"labels", "classes"}, values, i);
    }
    const bool last = i + 1 == labels.classes_size();
    if (numeric && k.has_values()) check.fail({"labels", "classes"}, "give `values` or `below`, not both kinds", i);
    if (numeric && !last && !k.has_below())
      check.fail({"labels", "classes"}, "every class but the last needs `below` once one has it", i);
    if (!numeric && k.has_below())
      check.fail({"labels", "classes"}, "`below` needs every class but the last to give one, the first included", i);
    if (numeric && k.has_below()) {
      if (!std::isfinite(k.below())) check.fail({"labels", "classes"}, "`below` must be a finite number", i);
      if (i > 0 && !(k.below() > labels.classes(i - 1).below()))
        check.fail({"labels", "classes"}, "`below` must grow from class to class", i);
    }
  }
}

// Every range check of a double is written as !(in range), so that NaN fails.
void validate(const DatasetConfig& c, const Checker& check) {
  for (int i = 0; i < c.include_size(); ++i)
    if (c.include(i).empty()) check.fail({"include"}, "empty glob", i);
  for (int i = 0; i < c.exclude_size(); ++i)
    if (c.exclude(i).empty()) check.fail({"exclude"}, "empty glob", i);

  if (c.has_subject()) check_regex(check, {"subject", "pattern"}, c.subject().pattern());

  const SplitRule& split = c.split();
  for (int i = 0; i < split.folders_size(); ++i) check_regex(check, {"split", "folders"}, split.folders(i).folder(), i);
  if (split.mode() == SplitRule::FOLDERS && split.folders_size() == 0)
    check.fail({"split", "mode"}, "FOLDERS needs at least one `folders` rule");
  if (!(split.validate_fraction() >= 0 && split.validate_fraction() < 1))
    check.fail({"split", "validate_fraction"}, "must be in [0, 1)");
  if (!(split.test_fraction() >= 0 && split.test_fraction() < 1)) check.fail({"split", "test_fraction"}, "must be in [0, 1)");
  if (!(split.validate_fraction() + split.test_fraction() < 1))
    check.fail({"split", "test_fraction"}, "validate_fraction + test_fraction must stay below 1");
  if (split.mode() == SplitRule::ALL_TRAIN && (split.validate_fraction() > 0 || split.test_fraction() > 0))
    check.fail({"split", "mode"}, "ALL_TRAIN holds out nothing: validate_fraction and test_fraction need SUBJECT_HASH or FOLDERS");

  const Slicing& s = c.slicing();
  if (s.axis() < 0 || s.axis() > 2) check.fail({"slicing", "axis"}, "must be 0, 1 or 2, not " + std::to_string(s.axis()));
  if (!(s.first_fraction() >= 0 && s.first_fraction() < 1)) check.fail({"slicing", "first_fraction"}, "must be in [0, 1)");
  if (!(s.last_fraction() > s.first_fraction() && s.last_fraction() <= 1))
    check.fail({"slicing", "last_fraction"}, "must be in (first_fraction, 1]");
  if (s.stride() < 1) check.fail({"slicing", "stride"}, "must be at least 1");
  if (!(s.foreground_threshold() >= 0 && s.foreground_threshold() <= 1))
    check.fail({"slicing", "foreground_threshold"}, "must be in [0, 1]");
  if (!(s.min_foreground_fraction() >= 0 && s.min_foreground_fraction() <= 1))
    check.fail({"slicing", "min_foreground_fraction"}, "must be in [0, 1]");

  const IntensityWindow& w = c.window();
  if (!(w.low_percentile() >= 0 && w.low_percentile() < 100)) check.fail({"window", "low_percentile"}, "must be in [0, 100)");
  if (!(w.high_percentile() > w.low_percentile() && w.high_percentile() <= 100))
    check.fail({"window", "high_percentile"}, "must be in (low_percentile, 100]");

  const Crop& crop = c.crop();
  if (crop.mode() == Crop::BOX && (crop.width() <= 0 || crop.height() <= 0))
    check.fail({"crop", "mode"}, "BOX needs a positive width and height");
  if (crop.width() < 0) check.fail({"crop", "width"}, "must not be negative");
  if (crop.height() < 0) check.fail({"crop", "height"}, "must not be negative");
  if (crop.threshold() < 0 || crop.threshold() > 255) check.fail({"crop", "threshold"}, "must be in [0, 255]");
  if (!(crop.margin() >= 0 && crop.margin() <= 1)) check.fail({"crop", "margin"}, "must be in [0, 1]");

  for (int i = 0; i < c.flip().rules_size(); ++i) {
    if (!c.flip().rules(i).has_mirror()) check.fail({"flip", "rules"}, "a rule needs `mirror`", i);
    check_regex(check, {"flip", "rules"}, c.flip().rules(i).mirror(), i);
  }

  std::set<int> seen;
  for (int i = 0; i < c.pyramid().resolutions_size(); ++i) {
    int r = c.pyramid().resolutions(i);
    if (r < 4 || r > 1024 || (r & (r - 1)) != 0)
      check.fail({"pyramid", "resolutions"}, std::to_string(r) + " is not a power of two in [4, 1024]", i);
    if (!seen.insert(r).second) check.fail({"pyramid", "resolutions"}, std::to_string(r) + " is listed twice", i);
  }

  if (c.channels() != 1 && c.channels() != 3)
    check.fail({"channels"}, "must be 1 or 3, not " + std::to_string(c.channels()));
  if (c.png_compression() < 0 || c.png_compression() > 9) check.fail({"png_compression"}, "must be in [0, 9]");

  if (c.has_labels()) validate_labels(c.labels(), check);

  const Limits& l = c.limits();
  if (l.max_input_bytes() == 0) check.fail({"limits", "max_input_bytes"}, "must be positive");
  if (l.max_archive_bytes() == 0) check.fail({"limits", "max_archive_bytes"}, "must be positive");
  if (l.max_pixels() == 0) check.fail({"limits", "max_pixels"}, "must be positive");
  if (l.tokens() < 0) check.fail({"limits", "tokens"}, "must not be negative");
}

}  // namespace

DatasetConfig parse_dataset_config(const std::string& text, const std::string& name) {
  DatasetConfig config;
  TextFormat::Parser parser;
  CollectFirstError errors;
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(text, &config)) {
    if (errors.has_error())
      throw ConfigError(name + ":" + std::to_string(errors.line()) + ":" + std::to_string(errors.column()),
                        errors.message());
    throw ConfigError(name, "cannot parse the config");
  }
  validate(config, Checker(name, tree));
  return config;
}

DatasetConfig load_dataset_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, "cannot open config file");
  std::stringstream text;
  text << in.rdbuf();
  DatasetConfig config = parse_dataset_config(text.str(), path);
  // A subject table is read from the config's folder unless its path is absolute.
  if (config.has_labels() && config.labels().has_table()) {
    const std::filesystem::path table(config.labels().table().path());
    if (table.is_relative())
      config.mutable_labels()->mutable_table()->set_path(
          (std::filesystem::path(path).parent_path() / table).lexically_normal().string());
  }
  return config;
}

}  // namespace sg
