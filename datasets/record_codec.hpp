#pragma once
// The record codec of the LMDB layout: one image as one record value, RAW
// (pixels, row-major, channels interleaved) or PNG.
#include <string>
#include <string_view>

#include "common/images/image.hpp"
#include "dataset.pb.h"

namespace sg {

// `channels` 3 replicates grey into RGB (for RGB-only readers).
std::string encode_record(const Image8& grey, Encoding encoding, int channels, int png_level);

// The inverse, for readers: a size x size image with `channels` channels.
// Throws InputError(key, reason) when the value does not fit.
Image8 decode_record(std::string_view value, Encoding encoding, int size, int channels, const std::string& key);

}  // namespace sg
