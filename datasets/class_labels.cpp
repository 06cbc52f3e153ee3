#include "datasets/class_labels.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/errors.hpp"
#include "datasets/dataset_rules.hpp"

namespace sg {

namespace {

// A subject table is a few thousand rows; a file this large is a mistake.
constexpr std::streamoff kMaxTableBytes = 256 << 20;

std::string trimmed(const std::string& text) {
  size_t first = 0, last = text.size();
  while (first < last && std::isspace(static_cast<unsigned char>(text[first]))) ++first;
  while (last > first && std::isspace(static_cast<unsigned char>(text[last - 1]))) --last;
  return text.substr(first, last - first);
}

bool same_ignoring_case(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string read_table(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot read the subject table");
  in.seekg(0, std::ios::end);
  const std::streamoff bytes = in.tellg();
  if (bytes > kMaxTableBytes)
    throw InputError(path, "the subject table is larger than " + std::to_string(kMaxTableBytes >> 20) + " MiB");
  in.seekg(0);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& name) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_row = [&] {
    end_field();
    const bool empty = row.size() == 1 && row[0].empty();
    if (!empty) rows.push_back(std::move(row));
    row.clear();
  };
  size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a spreadsheet's byte-order mark
  for (size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      end_row();
    } else if (c != '\r' || (i + 1 < text.size() && text[i + 1] != '\n')) {
      field += c;
      field_started = true;
    }
  }
  if (quoted) throw InputError(name, "a quoted field is not closed");
  if (field_started || !field.empty() || !row.empty()) end_row();
  return rows;
}

ClassLabeller::ClassLabeller(const LabelRule& rule) : rule_(rule) {
  for (const LabelClass& k : rule.classes()) {
    names_.push_back(k.name());
    if (k.has_below()) numeric_ = true;
    values_.push_back(k.has_values() ? std::optional<std::regex>(std::regex(
                                           k.values(), std::regex::ECMAScript | std::regex::icase))
                                     : std::nullopt);
  }
  if (rule.has_pattern()) {
    auto flags = std::regex::ECMAScript;
    if (rule.pattern().ignore_case()) flags |= std::regex::icase;
    pattern_ = std::regex(rule.pattern().regex(), flags);
    return;
  }
  const SubjectTable& t = rule.table();
  const auto rows = parse_csv(read_table(t.path()), t.path());
  if (rows.empty()) throw InputError(t.path(), "the subject table is empty");
  auto column = [&](const std::string& wanted) {
    for (size_t i = 0; i < rows[0].size(); ++i)
      if (same_ignoring_case(trimmed(rows[0][i]), wanted)) return i;
    throw InputError(t.path(), "no column '" + wanted + "' in the header (it has: " + listed(rows[0]) + ")");
  };
  const size_t subject_column = column(t.subject_column()), label_column = column(t.label_column());
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (row.size() <= std::max(subject_column, label_column)) continue;  // a short (footer) row
    const std::string subject = trimmed(row[subject_column]), value = trimmed(row[label_column]);
    if (subject.empty()) continue;
    auto [at, inserted] = table_.emplace(subject, value);
    if (!inserted && at->second != value)
      throw InputError(t.path(), "subject " + subject + " has two labels ('" + at->second + "' and '" + value + "')");
  }
}

std::string ClassLabeller::label_value(const std::string& path, const std::string& subject) const {
  if (pattern_) {
    std::smatch m;
    if (path.size() > DatasetRules::kMaxPathBytes || !std::regex_search(path, m, *pattern_))
      throw InputError(path, "no label: the label pattern '" + rule_.pattern().regex() + "' does not match the path");
    return m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
  }
  const auto it = table_.find(subject);
  if (it == table_.end())
    throw InputError(path, "no label: subject " + subject + " is not in " + rule_.table().path());
  if (it->second.empty())
    throw InputError(path, "no label: subject " + subject + " has an empty " + rule_.table().label_column() + " in " +
                               rule_.table().path());
  return it->second;
}

int ClassLabeller::class_of_value(const std::string& value, const std::string& path) const {
  // libstdc++'s regex recurses per character (see DatasetRules).
  constexpr size_t kMaxValue = 256;
  if (value.size() > kMaxValue)
    throw InputError(path, "no label: a label longer than " + std::to_string(kMaxValue) + " characters");
  if (numeric_) {
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0' || !std::isfinite(number))
      throw InputError(path, "no label: '" + value + "' is not a number (the classes are bands of numbers)");
    for (int i = 0; i < rule_.classes_size(); ++i)
      if (!rule_.classes(i).has_below() || number < rule_.classes(i).below()) return i;
    throw InputError(path, "no label: " + value + " lies above the last class's bound (" +
                               std::to_string(rule_.classes(rule_.classes_size() - 1).below()) + ")");
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    const bool match = values_[i] ? std::regex_match(value, *values_[i]) : same_ignoring_case(value, names_[i]);
    if (match) return static_cast<int>(i);
  }
  throw InputError(path, "no label: '" + value + "' is none of the classes (" + listed(names_) + ")");
}

int ClassLabeller::class_of(const std::string& path, const std::string& subject) const {
  return class_of_value(label_value(path, subject), path);
}

std::string describe_class_counts(const std::vector<std::string>& names, const std::vector<uint64_t> (&records)[3]) {
  std::string out;
  auto count = [&](Split split, size_t c) { return std::to_string(c < records[split].size() ? records[split][c] : 0); };
  for (size_t c = 0; c < names.size(); ++c)
    out += std::string(c == 0 ? "  classes: " : "           ") + names[c] + ": train " + count(TRAIN, c) +
           ", validate " + count(VALIDATE, c) + ", test " + count(TEST, c) + "\n";
  return out;
}

std::string describe_classes(const DatasetMeta& meta) {
  const std::vector<std::string> names(meta.class_names().begin(), meta.class_names().end());
  std::vector<uint64_t> records[3];
  for (const SplitCount& count : meta.counts())
    if (Split_IsValid(count.split())) records[count.split()].assign(count.class_records().begin(), count.class_records().end());
  return describe_class_counts(names, records);
}

}  // namespace sg
