#pragma once
// Our own checks of MetaImage (.mha/.mhd) and NRRD (.nrrd/.nhdr) headers
// before ITK reads the data:
// ITK 5.2's MetaIO reads an uncompressed data file that ends early with
// only a message on stderr ("data not read completely") and hands back an
// image whose tail is whatever the buffer held — a silent partial volume.
#include <cstdint>
#include <string>

namespace sg {

// Throws InputError naming `display_name` when the header claims more
// voxels than `max_bytes` or than its data file (or, for .mha, the rest of
// the file) holds; compressed data is inflated to its end first (ITK hands
// back a partial image from a cut stream too). Compressed data (CompressedData = True) is left to ITK,
// whose inflate fails on a cut stream.
void check_metaimage_data(const std::string& path, const std::string& display_name, uint64_t max_bytes);

bool has_metaimage_suffix(const std::string& lower_name);

// The same for NRRD: raw data shorter than the header's sizes, or a gzip
// stream that stops early or lacks its trailer (teem reads what inflated).
void check_nrrd_data(const std::string& path, const std::string& display_name, uint64_t max_bytes);

bool has_nrrd_suffix(const std::string& lower_name);

}  // namespace sg
