#include "stages/slice.hpp"

#include <algorithm>
#include <cmath>

namespace sg {

SliceF extract_slice(const Volume& v, int axis, int index, bool flip_rows) {
  SliceF s;
  // Width runs along the lower remaining axis, height along the higher one.
  int w_axis = axis == 0 ? 1 : 0;
  int h_axis = axis == 2 ? 1 : 2;
  const int dims[3] = {v.nx, v.ny, v.nz};
  s.width = dims[w_axis];
  s.height = dims[h_axis];
  s.pixels.resize(static_cast<size_t>(s.width) * s.height);
  for (int r = 0; r < s.height; ++r) {
    int h = flip_rows ? s.height - 1 - r : r;
    for (int c = 0; c < s.width; ++c) {
      int xyz[3];
      xyz[axis] = index;
      xyz[w_axis] = c;
      xyz[h_axis] = h;
      s.pixels[static_cast<size_t>(r) * s.width + c] = v.at(xyz[0], xyz[1], xyz[2]);
    }
  }
  return s;
}

namespace {

// The 99.5th percentile of the volume: robust to a few hot voxels.
float robust_max(const std::vector<float>& voxels) {
  if (voxels.empty()) return 0.f;
  std::vector<float> copy(voxels);
  size_t k = static_cast<size_t>(0.995 * static_cast<double>(copy.size() - 1));
  std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k), copy.end());
  return copy[k];
}

}  // namespace

SliceResult slice_volume(const Volume& volume, const Slicing& config) {
  SliceResult result;
  if (volume.is_2d()) {
    result.slices.push_back(extract_slice(volume, 2, 0, false));
    return result;
  }
  const int axis = config.axis();
  const int dims[3] = {volume.nx, volume.ny, volume.nz};
  const int length = dims[axis];
  const int first = std::clamp(static_cast<int>(std::floor(config.first_fraction() * length)), 0, length);
  const int last = std::clamp(static_cast<int>(std::ceil(config.last_fraction() * length)), first, length);
  const float threshold = static_cast<float>(config.foreground_threshold()) * robust_max(volume.voxels);
  for (int index = first; index < last; index += config.stride()) {
    SliceF s = extract_slice(volume, axis, index, config.flip_rows());
    size_t foreground = std::count_if(s.pixels.begin(), s.pixels.end(), [&](float x) { return x > threshold; });
    if (static_cast<double>(foreground) < config.min_foreground_fraction() * static_cast<double>(s.pixels.size())) {
      ++result.dropped_empty;
      continue;
    }
    result.slices.push_back(std::move(s));
  }
  return result;
}

void slice_stage(PrepItem& item, const DatasetConfig& config) {
  SliceResult result = slice_volume(item.volume, config.slicing());
  item.raw_slices = std::move(result.slices);
  item.empty_slices_dropped = result.dropped_empty;
  // The slices hold the voxels from here on; the type range stays for normalize.
  item.volume.voxels.clear();
  item.volume.voxels.shrink_to_fit();
}

}  // namespace sg
