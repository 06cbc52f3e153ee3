#include "stages/normalize.hpp"

#include <algorithm>
#include <cmath>

namespace sg {

namespace {

float percentile_of(std::vector<float>& values, double percent) {
  size_t k = static_cast<size_t>(std::llround(percent / 100.0 * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

}  // namespace

IntensityRange compute_window(const std::vector<const SliceF*>& slices, float type_min, float type_max,
                              const IntensityWindow& config) {
  if (config.mode() == IntensityWindow::TYPE_RANGE && type_max > type_min) return {type_min, type_max};

  std::vector<float> values;
  for (const SliceF* s : slices)
    for (float x : s->pixels)
      if (!(config.ignore_zeros() && x == 0.f)) values.push_back(x);
  if (values.empty()) return {0.f, 1.f};

  IntensityRange range;
  if (config.mode() == IntensityWindow::PERCENTILE) {
    range.low = percentile_of(values, config.low_percentile());
    range.high = percentile_of(values, config.high_percentile());
  } else {  // MIN_MAX, and TYPE_RANGE for types without a range
    auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    range = {*lo, *hi};
  }
  if (config.ignore_zeros()) range.low = std::min(range.low, 0.f);  // background stays black
  if (range.high <= range.low) range.high = range.low + 1.f;
  return range;
}

Image8 apply_window(const SliceF& slice, IntensityRange range) {
  Image8 out(slice.width, slice.height);
  const float scale = 255.f / (range.high - range.low);
  for (size_t i = 0; i < slice.pixels.size(); ++i) {
    float v = (slice.pixels[i] - range.low) * scale;
    out.pixels[i] = static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.f, 255.f));
  }
  return out;
}

void normalize_stage(PrepItem& item, const DatasetConfig& config) {
  IntensityWindow window = config.window();
  item.slices.clear();
  item.slices.reserve(item.raw_slices.size());
  if (window.mode() == IntensityWindow::DICOM_WINDOW) {
    if (item.volume.window_high > item.volume.window_low) {
      const IntensityRange range{item.volume.window_low, item.volume.window_high};
      for (const SliceF& s : item.raw_slices) item.slices.push_back(apply_window(s, range));
      item.raw_slices.clear();
      item.raw_slices.shrink_to_fit();
      return;
    }
    window.set_mode(IntensityWindow::PERCENTILE);
  }
  if (window.scope() == IntensityWindow::PER_INPUT) {
    std::vector<const SliceF*> all;
    for (const SliceF& s : item.raw_slices) all.push_back(&s);
    IntensityRange range = compute_window(all, item.volume.type_min, item.volume.type_max, window);
    for (const SliceF& s : item.raw_slices) item.slices.push_back(apply_window(s, range));
  } else {
    for (const SliceF& s : item.raw_slices)
      item.slices.push_back(apply_window(s, compute_window({&s}, item.volume.type_min, item.volume.type_max, window)));
  }
  item.raw_slices.clear();
  item.raw_slices.shrink_to_fit();
}

}  // namespace sg
