#pragma once
// decode: an input's bytes (or file) become a grey volume. Formats are told
// by signature for 2-D images and by name for volumes, which ITK reads.
#include <string>
#include <vector>

#include "common/images/image.hpp"
#include "dataset.pb.h"
#include "stages/prep_item.hpp"

namespace sg {

// True for names the decoder takes (lower-cased): PNG, JPEG and volumes.
bool is_supported_input_name(const std::string& name);

// Decodes 2-D image bytes (PNG 8/16-bit or JPEG) to a one-slice volume.
Volume decode_image_bytes(std::string_view bytes, const std::string& name, const Limits& limits);

// The node body: reads the entry (bytes already in memory for archive
// members), checks the limits, decodes, and records the content CRC.
void decode_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
