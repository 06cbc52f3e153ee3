// The folders are layers: every #include "..." of the sources goes to the
// file's own folder or to one the layer table (tests/layers.txt) lets it
// use, directly or through the layers below. An include against the table
// is named by file and line, with the rule it breaks, as Chromium's
// checkdeps names a DEPS violation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;

// folder -> the folders it names in the table (its direct lower layers).
using LayerTable = std::map<std::string, std::vector<std::string>>;

// "folder: lower lower ..." lines; '#' starts a comment.
LayerTable parse_layers(const std::string& text, std::vector<std::string>* problems) {
  LayerTable table;
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    line = line.substr(0, line.find('#'));
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t colon = line.find(':');
    std::istringstream head(line.substr(0, colon));
    std::string folder;
    head >> folder;
    if (colon == std::string::npos || folder.empty()) {
      problems->push_back("layers.txt:" + std::to_string(number) + ": not \"folder: lower folders\"");
      continue;
    }
    std::istringstream rest(line.substr(colon + 1));
    std::vector<std::string>& lower = table[folder];
    for (std::string name; rest >> name;) lower.push_back(name);
  }
  for (const auto& [folder, lower] : table)
    for (const std::string& name : lower)
      if (!table.count(name)) problems->push_back("layers.txt: " + folder + " names " + name + ", which has no line");
  return table;
}

// What each folder may include: its lower layers and theirs. A cycle in the
// table is reported (a folder reaching itself).
std::map<std::string, std::set<std::string>> reachable(const LayerTable& table, std::vector<std::string>* problems) {
  std::map<std::string, std::set<std::string>> reach;
  for (const auto& [folder, lower] : table) {
    std::set<std::string>& seen = reach[folder];
    std::vector<std::string> todo(lower.begin(), lower.end());
    while (!todo.empty()) {
      const std::string next = todo.back();
      todo.pop_back();
      if (!seen.insert(next).second) continue;
      auto it = table.find(next);
      if (it != table.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
    }
    if (seen.count(folder)) problems->push_back("layers.txt: " + folder + " reaches itself (a cycle)");
  }
  return reach;
}

// The table's folder a path lies in: the longest one that prefixes it.
std::string layer_of(const LayerTable& table, const std::string& path) {
  std::string best;
  for (const auto& entry : table) {
    const std::string& folder = entry.first;
    if (path.rfind(folder + "/", 0) == 0 && folder.size() > best.size()) best = folder;
  }
  return best;
}

struct Violation {
  std::string where;  // file:line
  std::string text;
};

// Every include of the sources under the table's folders against it.
// Generated protobuf headers ("dataset.pb.h") are configs'.
std::vector<Violation> check_includes(const std::string& root, const LayerTable& table,
                                      const std::map<std::string, std::set<std::string>>& reach,
                                      size_t* files_checked) {
  std::vector<Violation> violations;
  std::vector<std::string> sources;
  for (const auto& entry : table) {
    const fs::path folder = fs::path(root) / entry.first;
    if (!fs::is_directory(folder)) continue;
    for (const auto& file : fs::recursive_directory_iterator(folder)) {
      const std::string ext = file.path().extension().string();
      if (file.is_regular_file() && (ext == ".cpp" || ext == ".hpp" || ext == ".h"))
        sources.push_back(fs::relative(file.path(), root).generic_string());
    }
  }
  std::sort(sources.begin(), sources.end());
  sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
  for (const std::string& source : sources) {
    const std::string from = layer_of(table, source);
    if (from.empty()) continue;
    ++*files_checked;
    std::ifstream in(fs::path(root) / source);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      const size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line.compare(start, 10, "#include \"") != 0) continue;
      const size_t open = line.find('"', start), close = line.find('"', open + 1);
      const std::string included = line.substr(open + 1, close - open - 1);
      std::string to = included.find('/') == std::string::npos && included.find(".pb.h") != std::string::npos
                           ? "configs"
                           : layer_of(table, included);
      if (to.empty() || to == from || reach.at(from).count(to)) continue;
      violations.push_back({source + ":" + std::to_string(number),
                            from + " includes " + included + " (" + to + "), which layers.txt does not put below " + from});
    }
  }
  return violations;
}

// The tree checked: this source tree, or SG_LAYERS_ROOT (another checkout,
// e.g. to see what an older tree broke) with this tree's table.
std::string checked_root() {
  const char* root = std::getenv("SG_LAYERS_ROOT");
  return root != nullptr && *root != '\0' ? std::string(root) + "/" : test::source_path("");
}

LayerTable project_table(std::vector<std::string>* problems) {
  return parse_layers(test::read_file(test::source_path("tests/layers.txt")), problems);
}

TEST(Layers, TheTableIsReadableAndHasNoCycle) {
  std::vector<std::string> problems;
  const LayerTable table = project_table(&problems);
  reachable(table, &problems);
  EXPECT_GE(table.size(), 10u);
  for (const std::string& p : problems) ADD_FAILURE() << p;
}

TEST(Layers, EveryIncludeGoesDownTheTable) {
  std::vector<std::string> problems;
  const LayerTable table = project_table(&problems);
  const auto reach = reachable(table, &problems);
  ASSERT_TRUE(problems.empty()) << problems.front();
  size_t files = 0;
  const std::vector<Violation> violations = check_includes(checked_root(), table, reach, &files);
  EXPECT_GT(files, 150u);
  for (const Violation& v : violations) ADD_FAILURE() << v.where << ": " << v.text;
}

// The check itself, on a small tree of its own: an upward include and a
// cycle are found and named by file and line.
TEST(Layers, TheCheckNamesAnUpwardIncludeAndACycle) {
  test::TempDir dir;
  test::write_file(dir / "low/a.hpp", "#pragma once\n#include \"low/b.hpp\"\n");
  test::write_file(dir / "low/b.hpp", "#pragma once\n// fine: its own folder\n#include <vector>\n");
  test::write_file(dir / "high/c.cpp", "#include \"low/a.hpp\"\n#include \"dataset.pb.h\"\n");
  test::write_file(dir / "low/bad.cpp", "#include <string>\n\n  #include \"high/c.hpp\"\n");
  std::vector<std::string> problems;
  const LayerTable table = parse_layers("configs:\nlow: configs  # below\nhigh: low\n", &problems);
  const auto reach = reachable(table, &problems);
  ASSERT_TRUE(problems.empty());
  size_t files = 0;
  const std::vector<Violation> violations = check_includes(dir.path().string(), table, reach, &files);
  EXPECT_EQ(files, 4u);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].where, "low/bad.cpp:3");
  EXPECT_NE(violations[0].text.find("includes high/c.hpp (high)"), std::string::npos) << violations[0].text;

  parse_layers("a: b\nb: a\nc: missing\nnonsense\n", &problems);
  reachable(parse_layers("a: b\nb: a\n", &problems), &problems);
  const std::string all = [&] {
    std::string s;
    for (const std::string& p : problems) s += p + "\n";
    return s;
  }();
  EXPECT_NE(all.find("c names missing"), std::string::npos) << all;
  EXPECT_NE(all.find("layers.txt:4: not"), std::string::npos) << all;
  EXPECT_NE(all.find("a reaches itself"), std::string::npos) << all;
}

}  // namespace
}  // namespace sg
