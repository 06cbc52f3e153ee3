#pragma once
// Our own check of NIfTI-1/-2 and Analyze headers before ITK sees the file:
// the NIfTI C library inside ITK trusts header dimensions and allocates from
// them (a few hundred bytes can ask for gigabytes), so absurd headers are
// refused here first.
#include <array>
#include <cstdint>
#include <string>

namespace sg {

struct VolumeHeader {
  int version = 0;                 // 1 (NIfTI-1 / Analyze) or 2
  int ndim = 0;                    // dim[0]
  std::array<int64_t, 7> dims{};   // dim[1..7]
  int bits_per_voxel = 0;
  int datatype = 0;                // NIfTI datatype code
  bool swapped = false;            // stored in the other byte order
  uint64_t vox_offset = 0;         // where the voxels start (in the .img of a .hdr pair)
  double scl_slope = 0, scl_inter = 0;  // value = slope * stored + inter when slope is not 0
  uint64_t data_bytes() const;     // all volumes
  uint64_t volume_voxels() const;  // first 3 dims only
  int64_t volumes() const;         // product of dims 4..7
};

// Reads and checks the header of a .nii, .nii.gz or .hdr file. Throws
// InputError naming `display_name` and the reason when the header is absurd
// or claims more data than `max_bytes` or than the file holds. A .gz file is
// inflated to its end first: a stream that stops early (an interrupted
// download) or fails its CRC or length check is refused, and so is one that
// holds fewer bytes than the header needs.
VolumeHeader check_nifti_header(const std::string& path, const std::string& display_name, uint64_t max_bytes);


bool has_nifti_header_suffix(const std::string& lower_name);

}  // namespace sg
