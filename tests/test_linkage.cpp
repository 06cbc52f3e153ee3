// The programs that link LibTorch import no std::filesystem directory walk.
//
// Python's torch package (the LibTorch of a CUDA machine) exports copies of
// libstdc++'s std::filesystem directory iterators from libtorch (pytorch issue
// #133437), and calls bound to them crashed there (remove_all jumped to
// address 0). Our code walks folders with POSIX (pipeline/list_files,
// pipeline/remove_tree); this keeps a new directory_iterator or remove_all
// from slipping back in, on a machine where the crash cannot be seen.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

struct ClosePipe {
  void operator()(FILE* pipe) const { ::pclose(pipe); }
};

std::string undefined_dynamic_symbols(const std::string& program) {
  const std::string command = "nm -D --undefined-only '" + program + "' 2>&1";
  std::unique_ptr<FILE, ClosePipe> pipe(::popen(command.c_str(), "r"));
  if (!pipe) return "";
  std::string text;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe.get())) text.append(buffer, n);
  return text;
}

TEST(Linkage, TorchProgramsImportNoStdFilesystemDirectoryWalk) {
  const std::vector<std::string> programs = {"sg_train",      "sg_test",     "sg_eval",      "sg_model",
                                             "bench_train",   "bench_model", "bench_eval",   "bench_quality",
                                             "test_trainer",  "test_eval",   "test_model",   "test_schedule",
                                             "test_interchange", "test_stylegan2", "sg_augment", "sg_project"};
  for (const auto& name : programs) {
    const std::string path = std::string(SG_BIN_DIR) + "/" + name;
    const std::string symbols = undefined_dynamic_symbols(path);
    // Every program imports from libstdc++: its versioned names prove nm read it.
    ASSERT_NE(symbols.find("@GLIBCXX_"), std::string::npos) << path << ": nm printed:\n" << symbols;
    EXPECT_EQ(symbols.find("directory_iterator"), std::string::npos) << path;
    EXPECT_EQ(symbols.find("remove_all"), std::string::npos) << path;
  }
}

}  // namespace
