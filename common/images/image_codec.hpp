#pragma once
// In-memory PNG and JPEG codecs (libpng, libjpeg: the back ends ITK uses too).
// Used for archive members, 2-D files and LMDB records alike.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/images/image.hpp"

namespace sg {

enum class ImageFormat { Unknown, Png, Jpeg };

// Identifies the format by its signature, never by the file name.
ImageFormat sniff_image_format(std::string_view bytes);

// Decodes to grey (RGB is converted by luminance, alpha dropped); 16-bit PNG
// keeps its 16 bits. Throws InputError(name, reason) on anything malformed
// and before allocating more than max_pixels pixels.
Volume decode_png(std::string_view bytes, const std::string& name, uint64_t max_pixels);
Volume decode_jpeg(std::string_view bytes, const std::string& name, uint64_t max_pixels);

// Decodes an 8-bit PNG as stored (grey or RGB), for reading records back.
Image8 decode_png8(std::string_view bytes, const std::string& name);

// Encodes an 8-bit image (1 or 3 channels) as PNG with the given zlib level.
std::string encode_png(const Image8& image, int compression_level);

}  // namespace sg
