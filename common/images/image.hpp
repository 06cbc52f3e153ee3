#pragma once
// Pixel containers shared by the prep stages.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sg {

// A grey volume (or a 2-D image with depth 1) in float, so that 16-bit and
// float inputs stay faithful until the intensity window. Index order x, y, z
// with x fastest, as NIfTI stores voxels.
struct Volume {
  int nx = 0, ny = 0, nz = 0;
  std::vector<float> voxels;
  // The range of the stored type (0..255 for 8-bit, 0..65535 for 16-bit);
  // equal values mean "use the data's own min..max" (float inputs).
  float type_min = 0.f, type_max = 0.f;
  // A window the file itself gives (DICOM's centre/width); equal: none.
  float window_low = 0.f, window_high = 0.f;

  bool is_2d() const { return nz == 1; }
  float at(int x, int y, int z) const {
    return voxels[(static_cast<size_t>(z) * ny + y) * nx + x];
  }
};

// One 2-D slice before the intensity window.
struct SliceF {
  int width = 0, height = 0;
  std::vector<float> pixels;  // row-major
};

// An 8-bit image with `channels` interleaved channels.
struct Image8 {
  int width = 0, height = 0, channels = 1;
  std::vector<uint8_t> pixels;  // row-major

  Image8() = default;
  Image8(int w, int h, int c = 1)
      : width(w), height(h), channels(c), pixels(static_cast<size_t>(w) * h * c, 0) {}
  uint8_t& at(int x, int y) { return pixels[static_cast<size_t>(y) * width + x]; }
  uint8_t at(int x, int y) const { return pixels[static_cast<size_t>(y) * width + x]; }
  bool operator==(const Image8& o) const {
    return width == o.width && height == o.height && channels == o.channels && pixels == o.pixels;
  }
};

}  // namespace sg
