#pragma once
// encode: each pyramid level becomes one LMDB record value, RAW or PNG.
#include <string>
#include <string_view>

#include "dataset.pb.h"
#include "stages/image.hpp"
#include "stages/prep_item.hpp"

namespace sg {

// `channels` 3 replicates grey into RGB (for RGB-only readers).
std::string encode_record(const Image8& grey, Encoding encoding, int channels, int png_level);

// The inverse, for readers: a size x size image with `channels` channels.
// Throws InputError(key, reason) when the value does not fit.
Image8 decode_record(std::string_view value, Encoding encoding, int size, int channels, const std::string& key);

void encode_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
