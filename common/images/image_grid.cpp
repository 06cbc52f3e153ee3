#include "common/images/image_grid.hpp"

#include <algorithm>

#include "common/errors.hpp"

namespace sg {

Image8 make_grid(const std::vector<Image8>& images, int columns, int padding, uint8_t separator) {
  if (images.empty()) throw Error("", "make_grid: no images");
  const int w = images[0].width, h = images[0].height, c = images[0].channels;
  columns = std::max(1, std::min<int>(columns, static_cast<int>(images.size())));
  const int rows = (static_cast<int>(images.size()) + columns - 1) / columns;
  Image8 grid(columns * (w + padding) + padding, rows * (h + padding) + padding, c);
  std::fill(grid.pixels.begin(), grid.pixels.end(), separator);
  for (size_t i = 0; i < images.size(); ++i) {
    const Image8& image = images[i];
    if (image.width != w || image.height != h || image.channels != c)
      throw Error("", "make_grid: images differ in size or channels");
    const int x0 = padding + static_cast<int>(i % columns) * (w + padding);
    const int y0 = padding + static_cast<int>(i / columns) * (h + padding);
    for (int y = 0; y < h; ++y)
      std::copy_n(&image.pixels[static_cast<size_t>(y) * w * c], static_cast<size_t>(w) * c,
                  &grid.pixels[(static_cast<size_t>(y0 + y) * grid.width + x0) * c]);
  }
  return grid;
}

Image8 scale_up(const Image8& image, int factor) {
  if (factor <= 1) return image;
  Image8 out(image.width * factor, image.height * factor, image.channels);
  const size_t c = static_cast<size_t>(image.channels);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const size_t from = (static_cast<size_t>(y / factor) * image.width + x / factor) * c;
      const size_t to = (static_cast<size_t>(y) * out.width + x) * c;
      for (size_t k = 0; k < c; ++k) out.pixels[to + k] = image.pixels[from + k];
    }
  return out;
}

int readable_factor(int size, int min_pixels) {
  int factor = 1;
  while (size > 0 && size * factor < min_pixels) factor *= 2;
  return factor;
}

Image8 readable_grid(std::vector<Image8> images, int columns) {
  if (!images.empty()) {
    const int factor = readable_factor(images.front().width);
    for (Image8& image : images) image = scale_up(image, factor);
  }
  return make_grid(images, columns, 2, 128);
}

}  // namespace sg
