#pragma once
// A dataset's label rule applied: the class of an input, read from its path
// (ADNI's AD/NC folder, AKOA's LEFT/RIGHT in the file name) or from its
// subject's row in a CSV subject table (OASIS: a CDR score, an age band).
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "dataset.pb.h"

namespace sg {

// RFC 4180 rows: fields separated by commas, quoted fields may hold commas,
// doubled quotes and line breaks; CRLF or LF line ends; empty lines skipped.
// InputError(`name`, reason) for an unterminated quote.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& name);

class ClassLabeller {
 public:
  // Reads the subject table when the rule has one: InputError naming the
  // table when it cannot be read, lacks a named column or gives a subject
  // two labels. The rule itself is checked by the config loader.
  explicit ClassLabeller(const LabelRule& rule);

  // The class index (the place in rule.classes) of the input at
  // `relative_path` whose subject is `subject`; InputError(relative_path,
  // "no label: ...") when the path, or the table, gives none, or gives a
  // value that is none of the classes.
  int class_of(const std::string& relative_path, const std::string& subject) const;

  const std::vector<std::string>& class_names() const { return names_; }

 private:
  std::string label_value(const std::string& relative_path, const std::string& subject) const;
  int class_of_value(const std::string& value, const std::string& relative_path) const;

  LabelRule rule_;
  std::vector<std::string> names_;
  std::optional<std::regex> pattern_;
  std::vector<std::optional<std::regex>> values_;  // per class; none: the name, ignoring case
  std::map<std::string, std::string> table_;       // subject -> label value
  bool numeric_ = false;
};

// "  classes: AD: train 812, validate 90, test 301\n           NC: ..." (one
// line per class; "" without classes): sg_prep's summary and sg_inspect.
std::string describe_class_counts(const std::vector<std::string>& names, const std::vector<uint64_t> (&records)[3]);
// The same from an LMDB's meta record.
std::string describe_classes(const DatasetMeta& meta);

}  // namespace sg
