#include "common/images/box_filter.hpp"

#include <cstddef>
#include <cstdint>

namespace sg {

Image8 half_box(const Image8& image) {
  Image8 out(image.width / 2, image.height / 2);
  for (int y = 0; y < out.height; ++y) {
    const uint8_t* a = &image.pixels[static_cast<size_t>(2 * y) * image.width];
    const uint8_t* b = a + image.width;
    uint8_t* d = &out.pixels[static_cast<size_t>(y) * out.width];
    for (int x = 0; x < out.width; ++x)
      d[x] = static_cast<uint8_t>((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
  }
  return out;
}

}  // namespace sg
