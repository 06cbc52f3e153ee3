#include "stages/pyramid.hpp"

#include <algorithm>
#include <cmath>

#include "common/images/box_filter.hpp"

namespace sg {

namespace {

constexpr double kPi = 3.14159265358979323846;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= kPi;
  return std::sin(x) / x;
}

double lanczos3(double x) { return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }
double box(double x) { return (x >= -0.5 && x < 0.5) ? 1.0 : 0.0; }

// For each output sample: the first input index and its normalised weights.
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<double> weights;  // `width` per output sample
  int width = 0;
};

Taps compute_taps(int in_size, int out_size, Pyramid::Filter filter) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double stretch = std::max(scale, 1.0);
  const double support = (filter == Pyramid::LANCZOS3 ? 3.0 : 0.5) * stretch;
  Taps taps;
  taps.width = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(static_cast<size_t>(out_size) * taps.width, 0.0);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    hi = std::min(hi, lo + taps.width);
    double total = 0.0;
    double* w = &taps.weights[static_cast<size_t>(i) * taps.width];
    for (int j = lo; j < hi; ++j) {
      const double x = (j - center + 0.5) / stretch;
      w[j - lo] = filter == Pyramid::LANCZOS3 ? lanczos3(x) : box(x);
      total += w[j - lo];
    }
    if (total != 0.0)
      for (int j = 0; j < hi - lo; ++j) w[j] /= total;
    taps.first[i] = lo;
    taps.count[i] = hi - lo;
  }
  return taps;
}

// Half rounds up, as PIL does.
uint8_t to_byte(double v) { return static_cast<uint8_t>(std::clamp(std::floor(v + 0.5), 0.0, 255.0)); }

}  // namespace

Image8 resize_square(const Image8& image, int size, Pyramid::Filter filter) {
  if (image.width == size && image.height == size) return image;
  const Taps horizontal = compute_taps(image.width, size, filter);
  const Taps vertical = compute_taps(image.height, size, filter);
  // Horizontal pass into floats, then vertical, rounding once at the end.
  std::vector<float> rows(static_cast<size_t>(image.height) * size);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* src = &image.pixels[static_cast<size_t>(y) * image.width];
    for (int x = 0; x < size; ++x) {
      const double* w = &horizontal.weights[static_cast<size_t>(x) * horizontal.width];
      const uint8_t* s = src + horizontal.first[x];
      double acc = 0.0;
      for (int k = 0; k < horizontal.count[x]; ++k) acc += w[k] * s[k];
      rows[static_cast<size_t>(y) * size + x] = static_cast<float>(acc);
    }
  }
  Image8 out(size, size);
  for (int y = 0; y < size; ++y) {
    const double* w = &vertical.weights[static_cast<size_t>(y) * vertical.width];
    const float* s = &rows[static_cast<size_t>(vertical.first[y]) * size];
    for (int x = 0; x < size; ++x) {
      double acc = 0.0;
      for (int k = 0; k < vertical.count[y]; ++k) acc += w[k] * s[static_cast<size_t>(k) * size + x];
      out.pixels[static_cast<size_t>(y) * size + x] = to_byte(acc);
    }
  }
  return out;
}

std::vector<Image8> build_pyramid(const Image8& square, std::vector<int> sizes, Pyramid::Filter filter) {
  std::sort(sizes.begin(), sizes.end());
  std::vector<Image8> levels(sizes.size());
  Image8 current = resize_square(square, sizes.back(), filter);
  for (size_t i = sizes.size(); i-- > 0;) {
    while (current.width > sizes[i]) current = half_box(current);
    levels[i] = current;
  }
  return levels;
}

std::vector<int> pyramid_sizes(const Pyramid& config) {
  if (config.resolutions_size() == 0) return {8, 16, 32, 64, 128, 256};
  std::vector<int> sizes(config.resolutions().begin(), config.resolutions().end());
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

void pyramid_stage(PrepItem& item, const DatasetConfig& config) {
  const std::vector<int> sizes = pyramid_sizes(config.pyramid());
  item.pyramids.clear();
  item.pyramids.reserve(item.slices.size());
  for (const Image8& s : item.slices) item.pyramids.push_back(build_pyramid(s, sizes, config.pyramid().filter()));
  item.slices.clear();
}

}  // namespace sg
