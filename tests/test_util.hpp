#pragma once
// Helpers for the suites: temporary folders and synthetic inputs.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/images/image.hpp"

namespace sg::test {

// A fresh folder, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A smooth synthetic "scan": a bright disc with a gradient, varying by seed.
Image8 synthetic_slice(int width, int height, int seed);

std::string png_bytes(const Image8& image);
// An RGB JPEG (libjpeg, quality 95) of `rgb` (3 channels).
std::string jpeg_bytes(const Image8& rgb);
std::string png16_bytes(int width, int height, const std::vector<uint16_t>& pixels);
void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

// Writes a zip archive holding (name, bytes) members, in memory order.
void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members);

// A minimal NIfTI-1 (.nii) file of int16 voxels; dims beyond nz via `dims`.
std::string nifti1_bytes(const std::vector<int>& dims, const std::vector<int16_t>& voxels);

// Where the source tree's configs live (for tests of the shipped configs).
std::string source_path(const std::string& relative);

// A built program (build/bin/NAME).
std::string program_path(const std::string& name);

// How a program run ended, with what it printed.
struct ProgramRun {
  int exit_code = -1;   // when it exited
  int signal = 0;       // when a signal ended it
  bool timed_out = false;
  std::string out, err;
};

// Runs argv (argv[0] a path) to its end or SIGKILLs it after `timeout_s`.
ProgramRun run_program(const std::vector<std::string>& argv, double timeout_s = 300);

}  // namespace sg::test
