#include "datasets/record_codec.hpp"

#include "common/errors.hpp"
#include "common/images/image_codec.hpp"

namespace sg {

namespace {

Image8 replicate_channels(const Image8& grey, int channels) {
  if (channels == 1) return grey;
  Image8 out(grey.width, grey.height, channels);
  for (size_t i = 0; i < grey.pixels.size(); ++i)
    for (int c = 0; c < channels; ++c) out.pixels[i * channels + c] = grey.pixels[i];
  return out;
}

}  // namespace

std::string encode_record(const Image8& grey, Encoding encoding, int channels, int png_level) {
  if (encoding == PNG) return encode_png(replicate_channels(grey, channels), png_level);
  if (channels == 1) return std::string(grey.pixels.begin(), grey.pixels.end());
  Image8 rgb = replicate_channels(grey, channels);
  return std::string(rgb.pixels.begin(), rgb.pixels.end());
}

Image8 decode_record(std::string_view value, Encoding encoding, int size, int channels, const std::string& key) {
  if (size < 1 || size > 65536 || channels < 1 || channels > 4)
    throw InputError(key, "cannot hold a " + std::to_string(size) + "x" + std::to_string(size) + "x" +
                              std::to_string(channels) + " record");
  if (encoding == PNG) {
    Image8 image = decode_png8(value, key);
    if (image.width != size || image.height != size || image.channels != channels)
      throw InputError(key, "record is " + std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
                                std::to_string(image.channels) + ", expected " + std::to_string(size) + "x" +
                                std::to_string(size) + "x" + std::to_string(channels));
    return image;
  }
  const size_t expected = static_cast<size_t>(size) * size * channels;
  if (value.size() != expected)
    throw InputError(key, "RAW record holds " + std::to_string(value.size()) + " bytes, expected " +
                              std::to_string(expected));
  Image8 image(size, size, channels);
  std::copy(value.begin(), value.end(), image.pixels.begin());
  return image;
}

}  // namespace sg
