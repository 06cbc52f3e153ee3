#pragma once
// Reads NIfTI voxels ourselves: NIfTI-2 (.nii, .nii.gz, .hdr/.img pairs),
// which Debian's ITK 5.2 cannot read. The result is what ITK's reader gives
// for NIfTI-1 (a test compares the two on the same volume): voxels in file
// order (orientation is left to the slicing rules, as for NIfTI-1), the first
// volume of a 4-D file with a warning, scl_slope / scl_inter applied unless
// they are the identity (then the values count as floats), RGB by luminance.
#include <cstdint>
#include <string>
#include <vector>

#include "common/images/image.hpp"
#include "stages/nifti_header.hpp"

namespace sg {

// The voxels of a file whose header check_nifti_header has read and checked.
// Throws InputError naming `display_name`.
Volume read_nifti_voxels(const VolumeHeader& header, const std::string& path, const std::string& display_name,
                         std::vector<std::string>& warnings);

}  // namespace sg
