#include "stages/crop.hpp"

#include <algorithm>
#include <cmath>

namespace sg {

Image8 copy_box(const Image8& image, const Box& box) {
  Image8 out(box.width, box.height);
  const int x0 = std::max(box.x, 0), x1 = std::min(box.x + box.width, image.width);
  const int y0 = std::max(box.y, 0), y1 = std::min(box.y + box.height, image.height);
  if (x1 <= x0) return out;
  for (int y = y0; y < y1; ++y)
    std::copy_n(&image.pixels[static_cast<size_t>(y) * image.width + x0], x1 - x0,
                &out.pixels[static_cast<size_t>(y - box.y) * box.width + (x0 - box.x)]);
  return out;
}

Box foreground_box(const Image8& image, int threshold) {
  int x0 = image.width, y0 = image.height, x1 = -1, y1 = -1;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      if (image.at(x, y) > threshold) {
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
  if (x1 < 0) return {};
  return {x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

Box union_box(const Box& a, const Box& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  int x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
  int x1 = std::max(a.x + a.width, b.x + b.width), y1 = std::max(a.y + a.height, b.y + b.height);
  return {x0, y0, x1 - x0, y1 - y0};
}

Box square_around(const Box& box, double margin) {
  const int long_side = std::max(box.width, box.height);
  const int side = std::max(1, static_cast<int>(std::lround(long_side * (1.0 + 2.0 * margin))));
  // Centre in doubled coordinates so odd sizes stay exact.
  const int cx2 = 2 * box.x + box.width, cy2 = 2 * box.y + box.height;
  return {(cx2 - side) / 2, (cy2 - side) / 2, side, side};
}

namespace {

Box whole_square(const Image8& image, bool pad) {
  Box whole{0, 0, image.width, image.height};
  if (pad) return square_around(whole, 0.0);
  const int side = std::min(image.width, image.height);
  return {(image.width - side) / 2, (image.height - side) / 2, side, side};
}

}  // namespace

Image8 crop_square(const Image8& image, const Crop& config, const Box* input_box) {
  switch (config.mode()) {
    case Crop::CENTER_SQUARE:
      return copy_box(image, whole_square(image, false));
    case Crop::PAD_SQUARE:
      return copy_box(image, whole_square(image, true));
    case Crop::BOX:
      return copy_box(image, square_around({config.x(), config.y(), config.width(), config.height()}, 0.0));
    case Crop::FOREGROUND: {
      Box box = input_box ? *input_box : foreground_box(image, config.threshold());
      if (box.empty()) return copy_box(image, whole_square(image, true));
      return copy_box(image, square_around(box, config.margin()));
    }
    default:
      return copy_box(image, whole_square(image, false));
  }
}

void crop_stage(PrepItem& item, const DatasetConfig& config) {
  const Crop& crop = config.crop();
  if (crop.mode() == Crop::FOREGROUND && crop.per_input()) {
    Box box;
    for (const Image8& s : item.slices) box = union_box(box, foreground_box(s, crop.threshold()));
    for (Image8& s : item.slices) s = crop_square(s, crop, &box);
  } else {
    for (Image8& s : item.slices) s = crop_square(s, crop);
  }
}

}  // namespace sg
