#include "stages/nifti_reader.hpp"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/errors.hpp"

namespace sg {

namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// `count` bytes from `offset` of the file holding the voxels.
std::vector<unsigned char> read_range(const std::string& path, const std::string& name, uint64_t offset,
                                      uint64_t count) {
  std::vector<unsigned char> out(count);
  if (ends_with(lower(path), ".gz")) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw InputError(name, "cannot open file");
    gzbuffer(gz, 1 << 18);
    uint64_t skipped = 0;
    std::vector<unsigned char> discard(1 << 16);
    while (skipped < offset) {
      const unsigned n = static_cast<unsigned>(std::min<uint64_t>(discard.size(), offset - skipped));
      const int got = gzread(gz, discard.data(), n);
      if (got <= 0) break;
      skipped += static_cast<uint64_t>(got);
    }
    uint64_t done = 0;
    while (skipped == offset && done < count) {
      const unsigned n = static_cast<unsigned>(std::min<uint64_t>(1u << 30, count - done));
      const int got = gzread(gz, out.data() + done, n);
      if (got <= 0) break;
      done += static_cast<uint64_t>(got);
    }
    gzclose(gz);
    if (done < count) throw InputError(name, "the voxel data ends early (truncated file?)");
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(count));
  if (!in || static_cast<uint64_t>(in.gcount()) != count)
    throw InputError(name, "the voxel data ends early (truncated file?)");
  return out;
}

template <typename T>
T load(const unsigned char* p, bool swapped) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swapped)
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

template <typename T>
void convert(const unsigned char* raw, size_t voxels, bool swapped, std::vector<float>& out) {
  out.resize(voxels);
  for (size_t i = 0; i < voxels; ++i) out[i] = static_cast<float>(load<T>(raw + i * sizeof(T), swapped));
}

// Rec. 601 luma of interleaved 8-bit RGB(A), as the ITK path converts it.
void convert_rgb(const unsigned char* raw, size_t voxels, size_t components, std::vector<float>& out) {
  out.resize(voxels);
  for (size_t i = 0; i < voxels; ++i) {
    const unsigned char* v = raw + i * components;
    out[i] = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
  }
}

}  // namespace

Volume read_nifti_voxels(const VolumeHeader& header, const std::string& path, const std::string& name,
                         std::vector<std::string>& warnings) {
  if (header.ndim < 2) throw InputError(name, "a " + std::to_string(header.ndim) + "-D image has no slices");
  Volume v;
  v.nx = static_cast<int>(header.dims[0]);
  v.ny = static_cast<int>(header.dims[1]);
  v.nz = header.ndim >= 3 ? static_cast<int>(header.dims[2]) : 1;
  if (header.volumes() > 1)
    warnings.push_back(std::to_string(header.ndim) + "-D volume with " + std::to_string(header.volumes()) +
                       " volumes: using the first");
  const size_t voxels = static_cast<size_t>(header.volume_voxels());
  const uint64_t bytes = static_cast<uint64_t>(voxels) * static_cast<uint64_t>(header.bits_per_voxel) / 8;

  std::string data_path = path;
  if (ends_with(lower(path), ".hdr")) {
    std::error_code ec;
    fs::path img = fs::path(path).replace_extension(".img");
    if (!fs::exists(img, ec)) img = fs::path(path).replace_extension(".IMG");
    data_path = img.string();
  }
  const std::vector<unsigned char> raw = read_range(data_path, name, header.vox_offset, bytes);
  const bool sw = header.swapped;
  switch (header.datatype) {
    case 2: convert<uint8_t>(raw.data(), voxels, sw, v.voxels); v.type_max = 255; break;
    case 256: convert<int8_t>(raw.data(), voxels, sw, v.voxels); v.type_min = -128; v.type_max = 127; break;
    case 512: convert<uint16_t>(raw.data(), voxels, sw, v.voxels); v.type_max = 65535; break;
    case 4: convert<int16_t>(raw.data(), voxels, sw, v.voxels); v.type_min = -32768; v.type_max = 32767; break;
    case 768: convert<uint32_t>(raw.data(), voxels, sw, v.voxels); break;
    case 8: convert<int32_t>(raw.data(), voxels, sw, v.voxels); break;
    case 1280: convert<uint64_t>(raw.data(), voxels, sw, v.voxels); break;
    case 1024: convert<int64_t>(raw.data(), voxels, sw, v.voxels); break;
    case 16: convert<float>(raw.data(), voxels, sw, v.voxels); break;
    case 64: convert<double>(raw.data(), voxels, sw, v.voxels); break;
    case 128: convert_rgb(raw.data(), voxels, 3, v.voxels); v.type_max = 255; break;
    case 2304: convert_rgb(raw.data(), voxels, 4, v.voxels); v.type_max = 255; break;
    default:
      throw InputError(name, "unsupported NIfTI datatype " + std::to_string(header.datatype) + " (complex voxels)");
  }
  // As ITK: scaled values are floats, with no stored-type range.
  if (header.scl_slope != 0 && (header.scl_slope != 1 || header.scl_inter != 0)) {
    const double slope = header.scl_slope, inter = header.scl_inter;
    for (float& x : v.voxels) x = static_cast<float>(slope * x + inter);
    v.type_min = v.type_max = 0.f;
  }
  for (float& x : v.voxels)
    if (!std::isfinite(x)) x = 0.f;  // NaN backgrounds in float volumes
  return v;
}

}  // namespace sg
