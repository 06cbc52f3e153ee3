#pragma once
// Reads volumes (NIfTI-1, Analyze, MetaImage, NRRD) through ITK's ImageIO,
// NIfTI-2 through our own reader (stages/nifti_reader.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "common/images/image.hpp"

namespace sg {

// Reads the file at `path` as a grey volume. A 4-D file gives its first
// volume and a warning; RGB voxels are converted by luminance. Throws
// InputError(display_name, reason) on anything ITK refuses.
Volume read_volume_with_itk(const std::string& path, const std::string& display_name, uint64_t max_bytes,
                            std::vector<std::string>& warnings);

// True for the file names this reader takes (lower-case name).
bool is_volume_file_name(const std::string& lower_name);

}  // namespace sg
