#include "stages/nifti_header.hpp"

#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "common/errors.hpp"
#include "stages/compressed_stream.hpp"

namespace sg {
namespace fs = std::filesystem;

uint64_t VolumeHeader::volume_voxels() const {
  uint64_t n = 1;
  for (int i = 0; i < std::min(ndim, 3); ++i) n *= static_cast<uint64_t>(dims[i]);
  return n;
}

int64_t VolumeHeader::volumes() const {
  int64_t n = 1;
  for (int i = 3; i < ndim; ++i) n *= dims[i];
  return n;
}

uint64_t VolumeHeader::data_bytes() const {
  return volume_voxels() * static_cast<uint64_t>(volumes()) * static_cast<uint64_t>(bits_per_voxel) / 8;
}

bool has_nifti_header_suffix(const std::string& n) {
  auto ends = [&](const char* s) {
    size_t l = std::strlen(s);
    return n.size() >= l && n.compare(n.size() - l, l, s) == 0;
  };
  return ends(".nii") || ends(".nii.gz") || ends(".hdr");
}

namespace {

template <typename T>
T read_at(const unsigned char* p, bool swap) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if (swap) {
    unsigned char b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    for (size_t i = 0; i < sizeof v / 2; ++i) std::swap(b[i], b[sizeof v - 1 - i]);
    std::memcpy(&v, b, sizeof v);
  }
  return v;
}

// Bits per voxel for the NIfTI datatype codes ITK can read; 0 when unknown.
int bits_for_datatype(int code) {
  switch (code) {
    case 2: case 256: return 8;               // uint8, int8
    case 4: case 512: return 16;              // int16, uint16
    case 8: case 16: case 768: return 32;     // int32, float32, uint32
    case 64: case 1024: case 1280: return 64; // float64, int64, uint64
    case 128: return 24;                      // RGB24
    case 32: return 64;                       // complex64
    case 2304: return 32;                     // RGBA32
    default: return 0;
  }
}

}  // namespace

VolumeHeader check_nifti_header(const std::string& path, const std::string& name, uint64_t max_bytes) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw InputError(name, "cannot open file");
  unsigned char h[540];
  int got = gzread(gz, h, sizeof h);
  gzclose(gz);
  if (got < 348) throw InputError(name, "file too short for a NIfTI/Analyze header (" + std::to_string(got < 0 ? 0 : got) + " bytes)");

  VolumeHeader header;
  int32_t sizeof_hdr = read_at<int32_t>(h, false);
  bool swap = false;
  if (sizeof_hdr != 348 && sizeof_hdr != 540) {
    swap = true;
    sizeof_hdr = read_at<int32_t>(h, true);
  }
  // NIfTI-1 (and Analyze) store dims as int16 at 40 and the type at 70;
  // NIfTI-2 as int64 at 16 and the type at 12.
  int64_t dim[8];
  int16_t datatype = 0, bitpix = 0;
  double vox_offset = 0;
  if (sizeof_hdr == 348) {
    header.version = 1;
    for (int i = 0; i < 8; ++i) dim[i] = read_at<int16_t>(h + 40 + 2 * i, swap);
    datatype = read_at<int16_t>(h + 70, swap);
    bitpix = read_at<int16_t>(h + 72, swap);
    vox_offset = read_at<float>(h + 108, swap);
    header.scl_slope = read_at<float>(h + 112, swap);
    header.scl_inter = read_at<float>(h + 116, swap);
  } else if (sizeof_hdr == 540 && got >= 540) {
    header.version = 2;
    for (int i = 0; i < 8; ++i) dim[i] = read_at<int64_t>(h + 16 + 8 * i, swap);
    datatype = read_at<int16_t>(h + 12, swap);
    bitpix = read_at<int16_t>(h + 14, swap);
    vox_offset = static_cast<double>(read_at<int64_t>(h + 168, swap));
    header.scl_slope = read_at<double>(h + 176, swap);
    header.scl_inter = read_at<double>(h + 184, swap);
  } else {
    throw InputError(name, "not a NIfTI/Analyze file (header size field " + std::to_string(sizeof_hdr) + ")");
  }
  if (dim[0] < 1 || dim[0] > 7)
    throw InputError(name, "absurd header: dim[0] = " + std::to_string(dim[0]) + " (must be 1..7)");
  header.ndim = static_cast<int>(dim[0]);
  for (int i = 0; i < header.ndim; ++i) {
    if (dim[i + 1] < 1 || dim[i + 1] > (int64_t{1} << 31))
      throw InputError(name, "absurd header: dim[" + std::to_string(i + 1) + "] = " + std::to_string(dim[i + 1]));
    header.dims[i] = dim[i + 1];
  }
  const int expected = bits_for_datatype(datatype);
  if (expected == 0) throw InputError(name, "unsupported NIfTI datatype " + std::to_string(datatype));
  if (bitpix != expected)
    throw InputError(name, "absurd header: bitpix " + std::to_string(bitpix) + " does not match datatype " +
                               std::to_string(datatype));
  header.bits_per_voxel = bitpix;
  header.datatype = datatype;
  header.swapped = swap;
  if (!std::isfinite(header.scl_slope) || !std::isfinite(header.scl_inter)) header.scl_slope = 0;  // no scaling
  // Where the voxels start: after the header in a single .nii file, anywhere
  // in the .img of a pair. A NIfTI-1 file keeps it as a float.
  const size_t header_size = header.version == 1 ? 348 : 540;
  if (!(vox_offset >= 0 && vox_offset < 1e15) || vox_offset != std::floor(vox_offset))
    throw InputError(name, "absurd header: vox_offset " + std::to_string(vox_offset));
  header.vox_offset = static_cast<uint64_t>(vox_offset);
  const bool single_file = std::memcmp(h + (header.version == 1 ? 344 : 4), header.version == 1 ? "n+1" : "n+2", 3) == 0;
  if (single_file && header.vox_offset < header_size)
    throw InputError(name, "absurd header: vox_offset " + std::to_string(header.vox_offset) + " inside the header");

  // Overflow-safe: every dim < 2^31 and at most 7 of them would overflow, so
  // compare step by step against the cap.
  long double total = static_cast<long double>(header.bits_per_voxel) / 8;
  for (int i = 0; i < header.ndim; ++i) total *= static_cast<long double>(header.dims[i]);
  if (total > static_cast<long double>(max_bytes))
    throw InputError(name, "absurd header: dimensions claim " + byte_count_text(total) +
                               " bytes of voxels, over the limit of " + std::to_string(max_bytes));

  // The data must actually be there: compare with the file (or, for gzip,
  // its declared uncompressed size) before anyone allocates for it.
  std::string lower = path;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const uint64_t need = header.vox_offset + header.data_bytes();
  std::error_code ec;
  if (lower.size() > 4 && lower.compare(lower.size() - 4, 4, ".hdr") == 0) {
    fs::path img = fs::path(path).replace_extension(".img");
    if (!fs::exists(img, ec)) img = fs::path(path).replace_extension(".IMG");
    uint64_t have = fs::exists(img, ec) ? fs::file_size(img, ec) : 0;
    if (have < need)
      throw InputError(name, "image file holds " + std::to_string(have) + " bytes, header needs " + std::to_string(need));
  } else if (lower.size() > 3 && lower.compare(lower.size() - 3, 3, ".gz") == 0) {
    // Inflated to the end: the trailer's CRC and length prove the stream
    // whole (its length field alone is modulo 2^32 and can be cut off).
    const uint64_t have = verify_compressed_file(path, 0, Wrapper::Gzip, name, need + (uint64_t{1} << 30));
    if (have < need)
      throw InputError(name, "compressed file holds " + std::to_string(have) + " bytes, header needs " +
                                 std::to_string(need));
  } else {
    uint64_t have = fs::file_size(path, ec);
    if (have < need)
      throw InputError(name, "file holds " + std::to_string(have) + " bytes, header needs " + std::to_string(need));
  }
  return header;
}

}  // namespace sg
