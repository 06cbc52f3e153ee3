#include "stages/decode.hpp"

#include <zlib.h>

#include <algorithm>
#include <fstream>

#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "stages/dicom_process.hpp"
#include "stages/dicom_series.hpp"
#include "stages/volume_reader.hpp"

namespace sg {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint32_t crc_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large inputs in pieces.
  for (size_t off = 0; off < bytes.size(); off += 1u << 30) {
    size_t n = std::min<size_t>(bytes.size() - off, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + off), static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

uint32_t crc_of_file(const std::string& path, uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  uLong crc = crc32(0L, Z_NULL, 0);
  std::vector<char> chunk(1 << 20);
  *size = 0;
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(chunk.data()), static_cast<uInt>(n));
    *size += static_cast<uint64_t>(n);
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

bool is_supported_input_name(const std::string& name) {
  std::string n = lower(name);
  return ends_with(n, ".png") || ends_with(n, ".jpg") || ends_with(n, ".jpeg") || is_volume_file_name(n) ||
         is_dicom_file_name(n);
}

Volume decode_image_bytes(std::string_view bytes, const std::string& name, const Limits& limits) {
  switch (sniff_image_format(bytes)) {
    case ImageFormat::Png: return decode_png(bytes, name, limits.max_pixels());
    case ImageFormat::Jpeg: return decode_jpeg(bytes, name, limits.max_pixels());
    default:
      if (bytes.empty()) throw InputError(name, "empty file");
      throw InputError(name, "not a PNG or JPEG image (unrecognised signature)");
  }
}

void decode_stage(PrepItem& item, const DatasetConfig& config) {
  const Limits& limits = config.limits();
  const std::string& name = item.entry.name;
  const bool volume_name = is_volume_file_name(lower(name));
  if (item.entry.dicom) {
    // The digest covers every file of the series, in slice order.
    uLong crc = crc32(0L, Z_NULL, 0);
    item.content_size = 0;
    for (const DicomSlice& slice : item.entry.dicom->slices) {
      uint64_t size = 0;
      const uint32_t file_crc = crc_of_file(slice.path, &size);
      crc = crc32_combine(crc, file_crc, static_cast<z_off_t>(size));
      item.content_size += size;
    }
    item.content_crc = static_cast<uint32_t>(crc);
    item.volume = read_dicom_volume(*item.entry.dicom, limits.max_input_bytes(), read_dicom_pixels_isolated);
  } else if (item.entry.path.empty()) {  // an archive member, already in memory
    if (volume_name)
      throw InputError(name, "volumes inside archives are not read (they would have to be extracted); "
                             "pass the volume files or their folder instead");
    item.content_crc = crc_of(item.bytes);
    item.content_size = item.bytes.size();
    item.volume = decode_image_bytes(item.bytes, name, limits);
  } else if (volume_name) {
    item.content_crc = crc_of_file(item.entry.path, &item.content_size);
    item.volume = read_volume_with_itk(item.entry.path, name, limits.max_input_bytes(), item.warnings);
  } else {
    item.bytes = read_file_bytes(item.entry.path, name, limits.max_input_bytes());
    item.content_crc = crc_of(item.bytes);
    item.content_size = item.bytes.size();
    item.volume = decode_image_bytes(item.bytes, name, limits);
  }
  item.bytes.clear();
  item.bytes.shrink_to_fit();
}

}  // namespace sg
