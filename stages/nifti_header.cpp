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

// The fields of a NIfTI-1/Analyze (348 bytes) or NIfTI-2 (540) header, in
// either byte order: NIfTI-1 stores dims as int16 at 40 and the type at 70,
// NIfTI-2 as int64 at 16 and the type at 12.
struct RawHeader {
  int version = 1;
  bool swapped = false;
  int64_t dim[8] = {};
  int16_t datatype = 0, bitpix = 0;
  double vox_offset = 0, scl_slope = 0, scl_inter = 0;
  int16_t sform_code = 0;  // NIfTI-1 only: Analyze keeps text where these are
  float srow[12] = {};     // srow_x, srow_y, srow_z
};

RawHeader read_raw_header(const unsigned char* h, int got, const std::string& name) {
  RawHeader r;
  int32_t sizeof_hdr = read_at<int32_t>(h, false);
  if (sizeof_hdr != 348 && sizeof_hdr != 540) {
    r.swapped = true;
    sizeof_hdr = read_at<int32_t>(h, true);
  }
  const bool swap = r.swapped;
  if (sizeof_hdr == 348) {
    for (int i = 0; i < 8; ++i) r.dim[i] = read_at<int16_t>(h + 40 + 2 * i, swap);
    r.datatype = read_at<int16_t>(h + 70, swap);
    r.bitpix = read_at<int16_t>(h + 72, swap);
    r.vox_offset = read_at<float>(h + 108, swap);
    r.scl_slope = read_at<float>(h + 112, swap);
    r.scl_inter = read_at<float>(h + 116, swap);
    // The NIfTI library takes any "n+D\0" or "niD\0" (D 1-9) for NIfTI.
    const bool nifti_magic = h[344] == 'n' && (h[345] == '+' || h[345] == 'i') && h[346] >= '1' && h[346] <= '9' &&
                             h[347] == '\0';
    if (nifti_magic) {
      r.sform_code = read_at<int16_t>(h + 254, swap);
      for (int i = 0; i < 12; ++i) r.srow[i] = read_at<float>(h + 280 + 4 * i, swap);
    }
  } else if (sizeof_hdr == 540 && got >= 540) {
    r.version = 2;
    for (int i = 0; i < 8; ++i) r.dim[i] = read_at<int64_t>(h + 16 + 8 * i, swap);
    r.datatype = read_at<int16_t>(h + 12, swap);
    r.bitpix = read_at<int16_t>(h + 14, swap);
    r.vox_offset = static_cast<double>(read_at<int64_t>(h + 168, swap));
    r.scl_slope = read_at<double>(h + 176, swap);
    r.scl_inter = read_at<double>(h + 184, swap);
  } else {
    throw InputError(name, "not a NIfTI/Analyze file (header size field " + std::to_string(sizeof_hdr) + ")");
  }
  return r;
}

// The header's dimensions, type and voxel offset, each within reason.
VolumeHeader checked_header(const RawHeader& r, const unsigned char* h, const std::string& name) {
  VolumeHeader header;
  header.version = r.version;
  header.scl_slope = r.scl_slope;
  header.scl_inter = r.scl_inter;
  if (r.dim[0] < 1 || r.dim[0] > 7)
    throw InputError(name, "absurd header: dim[0] = " + std::to_string(r.dim[0]) + " (must be 1..7)");
  header.ndim = static_cast<int>(r.dim[0]);
  for (int i = 0; i < header.ndim; ++i) {
    if (r.dim[i + 1] < 1 || r.dim[i + 1] > (int64_t{1} << 31))
      throw InputError(name, "absurd header: dim[" + std::to_string(i + 1) + "] = " + std::to_string(r.dim[i + 1]));
    header.dims[i] = r.dim[i + 1];
  }
  const int expected = bits_for_datatype(r.datatype);
  if (expected == 0) throw InputError(name, "unsupported NIfTI datatype " + std::to_string(r.datatype));
  if (r.bitpix != expected)
    throw InputError(name, "absurd header: bitpix " + std::to_string(r.bitpix) + " does not match datatype " +
                               std::to_string(r.datatype));
  header.bits_per_voxel = r.bitpix;
  header.datatype = r.datatype;
  header.swapped = r.swapped;
  if (!std::isfinite(header.scl_slope) || !std::isfinite(header.scl_inter)) header.scl_slope = 0;  // no scaling
  // Where the voxels start: after the header in a single .nii file, anywhere
  // in the .img of a pair. A NIfTI-1 file keeps it as a float.
  const size_t header_size = header.version == 1 ? 348 : 540;
  if (!(r.vox_offset >= 0 && r.vox_offset < 1e15) || r.vox_offset != std::floor(r.vox_offset))
    throw InputError(name, "absurd header: vox_offset " + std::to_string(r.vox_offset));
  header.vox_offset = static_cast<uint64_t>(r.vox_offset);
  // ITK checks an sform it will use by a singular value decomposition that
  // aborts the process on a NaN or infinity (found by fuzz_volume).
  if (r.sform_code != 0)
    for (int i = 0; i < 12; ++i)
      if (!std::isfinite(r.srow[i]))
        throw InputError(name, std::string("absurd header: srow_") + "xyz"[i / 4] + "[" + std::to_string(i % 4) +
                                   "] = " + std::to_string(r.srow[i]) + " in the sform (sform_code " +
                                   std::to_string(r.sform_code) + ")");
  const bool single_file = std::memcmp(h + (header.version == 1 ? 344 : 4), header.version == 1 ? "n+1" : "n+2", 3) == 0;
  if (single_file && header.vox_offset < header_size)
    throw InputError(name, "absurd header: vox_offset " + std::to_string(header.vox_offset) + " inside the header");
  return header;
}

// The data must actually be there: compared with the file (or, for gzip,
// its inflated stream) before anyone allocates for it.
void check_data_present(const std::string& path, const std::string& name, uint64_t need) {
  std::string lower = path;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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
}

}  // namespace

VolumeHeader check_nifti_header(const std::string& path, const std::string& name, uint64_t max_bytes) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw InputError(name, "cannot open file");
  unsigned char h[540];
  int got = gzread(gz, h, sizeof h);
  gzclose(gz);
  if (got < 348) throw InputError(name, "file too short for a NIfTI/Analyze header (" + std::to_string(got < 0 ? 0 : got) + " bytes)");
  const VolumeHeader header = checked_header(read_raw_header(h, got, name), h, name);
  // Overflow-safe: every dim < 2^31 and at most 7 of them would overflow, so
  // compare step by step against the cap.
  long double total = static_cast<long double>(header.bits_per_voxel) / 8;
  for (int i = 0; i < header.ndim; ++i) total *= static_cast<long double>(header.dims[i]);
  if (total > static_cast<long double>(max_bytes))
    throw InputError(name, "absurd header: dimensions claim " + byte_count_text(total) +
                               " bytes of voxels, over the limit of " + std::to_string(max_bytes));
  check_data_present(path, name, header.vox_offset + header.data_bytes());
  return header;
}

}  // namespace sg
