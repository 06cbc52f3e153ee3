#include "stages/metaimage_header.hpp"

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/errors.hpp"
#include "stages/compressed_stream.hpp"

namespace sg {

namespace fs = std::filesystem;

bool has_metaimage_suffix(const std::string& n) {
  auto ends = [&](const char* s) {
    const size_t l = std::strlen(s);
    return n.size() >= l && n.compare(n.size() - l, l, s) == 0;
  };
  return ends(".mha") || ends(".mhd");
}

namespace {

int element_bytes(const std::string& type) {
  static const std::map<std::string, int> kBytes = {
      {"MET_CHAR", 1},  {"MET_UCHAR", 1},     {"MET_SHORT", 2},      {"MET_USHORT", 2}, {"MET_INT", 4},
      {"MET_UINT", 4},  {"MET_LONG", 4},      {"MET_ULONG", 4},      {"MET_LONG_LONG", 8},
      {"MET_ULONG_LONG", 8}, {"MET_FLOAT", 4}, {"MET_DOUBLE", 8}};
  auto it = kBytes.find(type);
  return it == kBytes.end() ? 0 : it->second;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  const size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// The header's "Key = Value" fields up to ElementDataFile, which must come
// last, and where the header ends. MetaIO reads a key up to the next '=',
// across lines, and copies it into a 255-byte buffer with strcpy (a long one
// aborts the process: found by fuzz_volume), so anything else is refused
// here before it sees the file.
std::map<std::string, std::string> read_fields(std::ifstream& in, const std::string& name, uint64_t* header_end) {
  std::map<std::string, std::string> fields;
  std::string line;
  int number = 0;
  while (*header_end < (1u << 20) && std::getline(in, line)) {
    *header_end += line.size() + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const bool text = std::all_of(line.begin(), line.end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 || c == '\t';
    });
    const size_t eq = line.find('=');
    if (!text) throw InputError(name, "not a MetaImage header: line " + std::to_string(number) + " is not text");
    if (eq == std::string::npos || eq > 200 || line.size() > 16384)
      throw InputError(name, "not a MetaImage header: line " + std::to_string(number) + " is not \"Key = Value\"");
    const std::string key = trim(line.substr(0, eq));
    fields[key] = trim(line.substr(eq + 1));
    if (key == "ElementDataFile") return fields;
  }
  throw InputError(name, "not a MetaImage header: no ElementDataFile line");
}

// Bytes of voxels the header claims, each dimension and the channels within reason.
uint64_t claimed_bytes(const std::map<std::string, std::string>& fields, const std::string& name, uint64_t max_bytes) {
  auto field = [&](const char* key) {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  };
  const int bytes = element_bytes(field("ElementType"));
  if (bytes == 0) throw InputError(name, "unsupported MetaImage ElementType \"" + field("ElementType") + "\"");
  std::istringstream dims(field("DimSize"));
  long double total = bytes;
  int64_t d = 0, count = 0;
  while (dims >> d) {
    if (d < 1 || d > (int64_t{1} << 31)) throw InputError(name, "absurd header: DimSize " + field("DimSize"));
    total *= static_cast<long double>(d);
    ++count;
  }
  if (count == 0) throw InputError(name, "MetaImage header has no DimSize");
  const std::string channels = field("ElementNumberOfChannels");
  if (!channels.empty()) {
    const long c = std::strtol(channels.c_str(), nullptr, 10);
    if (c < 1 || c > 64) throw InputError(name, "absurd header: ElementNumberOfChannels " + channels);
    total *= static_cast<long double>(c);
  }
  if (total > static_cast<long double>(max_bytes))
    throw InputError(name, "absurd header: dimensions claim " + byte_count_text(total) +
                               " bytes of voxels, over the limit of " + std::to_string(max_bytes));
  return static_cast<uint64_t>(total);
}

}  // namespace

void check_metaimage_data(const std::string& path, const std::string& name, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(name, "cannot open file");
  uint64_t header_end = 0;
  const std::map<std::string, std::string> fields = read_fields(in, name, &header_end);
  auto field = [&](const char* key) {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  };
  const std::string data_file = field("ElementDataFile");
  if (data_file.empty()) throw InputError(name, "MetaImage header names no data file");
  const std::string compressed = field("CompressedData");
  const bool is_compressed = compressed == "True" || compressed == "true" || compressed == "1";
  // Slice lists (LIST, or a %d pattern) are refused: their files' sizes are
  // not checked here, and MetaIO sizes a compressed one from the file's
  // remaining bytes, unchecked (a 2^63-byte allocation: found by fuzz_volume).
  if (data_file.rfind("LIST", 0) == 0 || data_file.find('%') != std::string::npos)
    throw InputError(name, "MetaImage slice lists (ElementDataFile = " + data_file.substr(0, 40) +
                               ") are not read: write the volume as one .mha or .mhd/.raw");
  uint64_t need = claimed_bytes(fields, name, max_bytes);
  const std::string data_path =
      data_file == "LOCAL" ? path : (fs::path(path).parent_path() / data_file).string();
  if (is_compressed) {
    // ITK hands back what inflated before a cut: the stream is checked to its end here.
    const uint64_t have = verify_compressed_file(data_path, data_file == "LOCAL" ? header_end : 0, Wrapper::ZlibOrGzip,
                                                 name, need + (uint64_t{1} << 20));
    if (have < need)
      throw InputError(name, "compressed data holds " + std::to_string(have) + " bytes, header needs " +
                                 std::to_string(need));
    return;
  }
  const long header_size = std::strtol(field("HeaderSize").c_str(), nullptr, 10);
  if (header_size > 0) need += static_cast<uint64_t>(header_size);

  std::error_code ec;
  uint64_t have = 0;
  if (data_file == "LOCAL") {
    const uint64_t size = fs::file_size(path, ec);
    have = size > header_end ? size - header_end : 0;
  } else {
    const fs::path data = fs::path(path).parent_path() / data_file;
    have = fs::exists(data, ec) ? fs::file_size(data, ec) : 0;
  }
  if (have < need)
    throw InputError(name, "data holds " + std::to_string(have) + " bytes, header needs " + std::to_string(need) +
                               " (truncated file?)");
}

bool has_nrrd_suffix(const std::string& n) {
  auto ends = [&](const char* x) {
    const size_t l = std::strlen(x);
    return n.size() >= l && n.compare(n.size() - l, l, x) == 0;
  };
  return ends(".nrrd") || ends(".nhdr");
}

void check_nrrd_data(const std::string& path, const std::string& name, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(name, "cannot open file");
  std::map<std::string, std::string> fields;
  std::string line;
  uint64_t header_end = 0;
  bool blank = false;
  // "field: value" lines up to the blank line that ends the header.
  while (header_end < (1u << 20) && std::getline(in, line)) {
    header_end += line.size() + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      blank = true;
      break;
    }
    if (line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos || line.compare(colon, 2, ":=") == 0) continue;  // key/value pairs are ":="
    fields[trim(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  auto field = [&](const char* key) {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  };
  std::string data_file = field("data file");
  if (data_file.empty()) data_file = field("datafile");
  if (data_file.find(' ') != std::string::npos || data_file.rfind("LIST", 0) == 0) return;  // slice lists
  if (data_file.empty() && !blank) return;  // no inline data: teem says what is missing
  static const std::map<std::string, int> kBytes = {
      {"signed char", 1}, {"int8", 1}, {"int8_t", 1}, {"uchar", 1}, {"unsigned char", 1}, {"uint8", 1}, {"uint8_t", 1},
      {"short", 2}, {"short int", 2}, {"signed short", 2}, {"int16", 2}, {"int16_t", 2}, {"ushort", 2},
      {"unsigned short", 2}, {"uint16", 2}, {"uint16_t", 2}, {"int", 4}, {"signed int", 4}, {"int32", 4},
      {"int32_t", 4}, {"uint", 4}, {"unsigned int", 4}, {"uint32", 4}, {"uint32_t", 4}, {"longlong", 8},
      {"long long", 8}, {"int64", 8}, {"int64_t", 8}, {"ulonglong", 8}, {"unsigned long long", 8}, {"uint64", 8},
      {"uint64_t", 8}, {"float", 4}, {"double", 8}};
  auto type = kBytes.find(field("type"));
  if (type == kBytes.end()) return;
  std::istringstream sizes(field("sizes"));
  long double total = type->second;
  int64_t d = 0, count = 0;
  while (sizes >> d) {
    if (d < 1 || d > (int64_t{1} << 31)) throw InputError(name, "absurd header: sizes " + field("sizes"));
    total *= static_cast<long double>(d);
    ++count;
  }
  if (count == 0) return;
  if (total > static_cast<long double>(max_bytes))
    throw InputError(name, "absurd header: sizes claim " + byte_count_text(total) +
                               " bytes of voxels, over the limit of " + std::to_string(max_bytes));
  const uint64_t need = static_cast<uint64_t>(total);
  const std::string data_path = data_file.empty() ? path : (fs::path(path).parent_path() / data_file).string();
  const uint64_t offset = data_file.empty() ? header_end : 0;
  const std::string encoding = field("encoding");
  if (encoding == "gzip" || encoding == "gz") {
    const uint64_t have = verify_compressed_file(data_path, offset, Wrapper::Gzip, name, need + (uint64_t{1} << 20));
    if (have < need)
      throw InputError(name, "compressed data holds " + std::to_string(have) + " bytes, header needs " +
                                 std::to_string(need));
  } else if (encoding == "raw" && field("byte skip").empty() && field("byteskip").empty()) {
    std::error_code ec;
    const uint64_t size = fs::exists(data_path, ec) ? fs::file_size(data_path, ec) : 0;
    const uint64_t have = size > offset ? size - offset : 0;
    if (have < need)
      throw InputError(name, "data holds " + std::to_string(have) + " bytes, header needs " + std::to_string(need) +
                                 " (truncated file?)");
  }
}

}  // namespace sg
