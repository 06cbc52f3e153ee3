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

// A small bright disc (radius size/4) or a large bright square (side 0.72
// size), 200 on 0, its centre moved by seed: two visibly different classes.
Image8 shape_slice(int size, bool square, int seed);
// The share of its bounding box that the bright pixels (above `threshold`)
// fill: 1 for shape_slice's squares, about pi/4 for its discs. `pixels` is
// one size x size plane.
template <typename T>
double bright_box_fill(const T* pixels, int size, T threshold) {
  int count = 0, x0 = size, y0 = size, x1 = -1, y1 = -1;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      if (pixels[y * size + x] > threshold) {
        ++count;
        x0 = x < x0 ? x : x0, y0 = y < y0 ? y : y0, x1 = x > x1 ? x : x1, y1 = y > y1 ? y : y1;
      }
  return count == 0 ? 0.0 : static_cast<double>(count) / ((x1 - x0 + 1) * (y1 - y0 + 1));
}

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
