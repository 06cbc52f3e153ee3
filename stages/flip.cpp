#include "stages/flip.hpp"

#include <algorithm>

namespace sg {

Image8 mirror_left_right(const Image8& image) {
  Image8 out(image.width, image.height, image.channels);
  const size_t stride = static_cast<size_t>(image.width) * image.channels;
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* src = &image.pixels[y * stride];
    uint8_t* dst = &out.pixels[y * stride];
    for (int x = 0; x < image.width; ++x)
      std::copy_n(src + static_cast<size_t>(image.width - 1 - x) * image.channels, image.channels,
                  dst + static_cast<size_t>(x) * image.channels);
  }
  return out;
}

std::vector<Image8> apply_flip(std::vector<Image8> slices, bool mirror, bool mirrored_copies) {
  if (mirror)
    for (Image8& s : slices) s = mirror_left_right(s);
  if (!mirrored_copies) return slices;
  std::vector<Image8> out;
  out.reserve(slices.size() * 2);
  for (Image8& s : slices) {
    Image8 copy = mirror_left_right(s);
    out.push_back(std::move(s));
    out.push_back(std::move(copy));
  }
  return out;
}

void flip_stage(PrepItem& item, const DatasetConfig& config) {
  item.slices = apply_flip(std::move(item.slices), item.mirror, config.flip().mirrored_copies());
}

}  // namespace sg
