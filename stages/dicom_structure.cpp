#include "stages/dicom_structure.hpp"

#include <algorithm>
#include <cstdint>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>

#include "common/errors.hpp"

namespace sg {

namespace {

constexpr uint32_t kUndefined = 0xffffffffu;
constexpr int kDeepest = 16;  // nested sequences

class Walker {
 public:
  Walker(std::string_view bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}

  std::string run() {
    if (bytes_.size() < 132 || std::memcmp(bytes_.data() + 128, "DICM", 4) != 0)
      throw InputError(name_, "not a DICOM file (no DICM marker at byte 128)");
    size_t pos = 132;
    std::string transfer_syntax;
    // The meta group: explicit VR little endian, whatever the dataset's
    // syntax; its group length, when given, must be what follows it.
    int64_t group_end = -1;
    int previous = -1;
    while (pos + 4 <= bytes_.size() && u16(pos, false) == 0x0002) {
      const Element e = element(pos, bytes_.size(), true, false);
      if (static_cast<int>(e.element) <= previous) fail(pos, "meta elements out of order");
      previous = e.element;
      if (e.length == kUndefined) fail(pos, "an undefined length in the meta group");
      if (e.element == 0x0000) {
        if (e.length != 4) fail(pos, "a meta group length that is not 4 bytes");
        group_end = static_cast<int64_t>(e.value + 4 + u32(e.value, false));
      }
      if (e.element == 0x0010) {
        transfer_syntax.assign(bytes_.data() + e.value, e.length);
        while (!transfer_syntax.empty() && (transfer_syntax.back() == '\0' || transfer_syntax.back() == ' '))
          transfer_syntax.pop_back();
        if (transfer_syntax.size() > 64 || transfer_syntax.find_first_not_of("0123456789.") != std::string::npos)
          fail(e.value, "the transfer syntax is no UID");
      }
      pos = e.value + e.length;
    }
    if (group_end >= 0 && static_cast<size_t>(group_end) != pos)
      fail(pos, "the meta group's length says it ends at byte " + std::to_string(group_end));
    if (transfer_syntax.empty()) fail(pos, "no transfer syntax (0002,0010) in the meta group");
    if (transfer_syntax == "1.2.840.10008.1.2.1.99") fail(pos, "deflated transfer syntax: not read");
    explicit_ = transfer_syntax != "1.2.840.10008.1.2";
    big_endian_ = transfer_syntax == "1.2.840.10008.1.2.2";
    dataset(pos, bytes_.size(), 0, false);
    check_image_module(transfer_syntax);
    return transfer_syntax;
  }

 private:
  struct Element {
    uint16_t group = 0, element = 0;
    char vr[3] = {0, 0, 0};
    uint32_t length = 0;
    size_t value = 0;  // offset of the value
  };

  [[noreturn]] void fail_image(const std::string& reason) const {
    throw InputError(name_, "malformed DICOM image: " + reason);
  }

  [[noreturn]] void fail(size_t at, const std::string& reason) const {
    throw InputError(name_, "malformed DICOM at byte " + std::to_string(at) + ": " + reason);
  }

  uint16_t u16(size_t at, bool big) const {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes_.data() + at);
    return big ? static_cast<uint16_t>(p[0] << 8 | p[1]) : static_cast<uint16_t>(p[1] << 8 | p[0]);
  }
  uint32_t u32(size_t at, bool big) const {
    return big ? (uint32_t{u16(at, true)} << 16 | u16(at + 2, true)) : (uint32_t{u16(at + 2, false)} << 16 | u16(at, false));
  }

  static bool known_vr(const char* vr) {
    static const char* kKnown[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT",
                                   "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
                                   "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
    for (const char* k : kKnown)
      if (vr[0] == k[0] && vr[1] == k[1]) return true;
    return false;
  }

  static bool long_form(const char* vr) {
    static const char* kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const char* l : kLong)
      if (vr[0] == l[0] && vr[1] == l[1]) return true;
    return false;
  }

  // The element header at `pos` (within `end`), its value checked to fit
  // unless its length is undefined.
  Element element(size_t pos, size_t end, bool is_explicit, bool big) const {
    if (pos + 8 > end) fail(pos, "an element header runs past its end");
    Element e;
    e.group = u16(pos, big);
    e.element = u16(pos + 2, big);
    if (e.group == 0xfffe || !is_explicit) {
      e.length = u32(pos + 4, big);
      e.value = pos + 8;
    } else {
      e.vr[0] = bytes_[pos + 4];
      e.vr[1] = bytes_[pos + 5];
      if (!known_vr(e.vr)) fail(pos + 4, "not a value representation");
      if (long_form(e.vr)) {
        if (pos + 12 > end) fail(pos, "an element header runs past its end");
        e.length = u32(pos + 8, big);
        e.value = pos + 12;
      } else {
        e.length = u16(pos + 6, big);
        e.value = pos + 8;
      }
    }
    if (e.length != kUndefined && e.length > end - e.value)
      fail(pos, "an element of " + std::to_string(e.length) + " bytes runs past its end");
    return e;
  }

  // The attributes GDCM reads into typed values (gdcm::Attribute, which
  // asserts their VR and value count): in an explicit-VR file, the VR the
  // standard gives them; decimal strings with the values they must have.
  void check_attribute(const Element& e, size_t pos) const {
    struct Rule {
      uint16_t group, element;
      const char* vr;
      int values;  // for DS/IS: exactly this many (0: any)
    };
    static const Rule kRules[] = {
        {0x0008, 0x0008, "CS", 0}, {0x0008, 0x0016, "UI", 0}, {0x0008, 0x0060, "CS", 0},
        {0x0018, 0x0050, "DS", 1}, {0x0018, 0x0088, "DS", 1}, {0x0018, 0x1164, "DS", 2},
        {0x0018, 0x2010, "DS", 2}, {0x0020, 0x0032, "DS", 3}, {0x0020, 0x0037, "DS", 6},
        {0x0028, 0x0002, "US", 0}, {0x0028, 0x0004, "CS", 0}, {0x0028, 0x0006, "US", 0},
        {0x0028, 0x0008, "IS", 1}, {0x0028, 0x0009, "AT", 0}, {0x0028, 0x0010, "US", 0},
        {0x0028, 0x0011, "US", 0}, {0x0028, 0x0030, "DS", 2}, {0x0028, 0x0034, "IS", 2},
        {0x0028, 0x0100, "US", 0}, {0x0028, 0x0101, "US", 0}, {0x0028, 0x0102, "US", 0},
        {0x0028, 0x0103, "US", 0}, {0x0028, 0x1050, "DS", 0}, {0x0028, 0x1051, "DS", 0},
        {0x0028, 0x1052, "DS", 1}, {0x0028, 0x1053, "DS", 1}, {0x0028, 0x1054, "LO", 0},
        {0x0054, 0x0081, "US", 0}, {0x3004, 0x000c, "DS", 0}};
    for (const Rule& r : kRules) {
      if (r.group != e.group || r.element != e.element) continue;
      const std::string tag = "(" + hex(r.group) + "," + hex(r.element) + ")";
      if (explicit_ && (e.vr[0] != r.vr[0] || e.vr[1] != r.vr[1]))
        fail(pos, tag + " has VR " + std::string(e.vr, 2) + " where the standard gives " + r.vr);
      if (e.length == kUndefined) fail(pos, tag + " has an undefined length");
      if (r.values > 0 && e.length > 0) {
        const std::string_view text(bytes_.data() + e.value, e.length);
        const int count = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\\'));
        if (count != r.values)
          fail(pos, tag + " holds " + std::to_string(count) + " values where it needs " + std::to_string(r.values));
        for (char c : text)
          if (!std::isdigit(static_cast<unsigned char>(c)) && !std::strchr("+-.eE \\", c))
            fail(pos, tag + " is not a list of numbers");
      }
      if (std::strcmp(r.vr, "US") == 0 && e.length % 2 != 0) fail(pos, tag + " has an odd length for 16-bit numbers");
    }
  }

  // The top-level value of (0028,eeee) as a US number; -1 when absent.
  long image_number(uint16_t element) const {
    const auto it = image_values_.find(element);
    if (it == image_values_.end()) return -1;
    const Element& e = it->second;
    if (e.length != 2) fail_image("(0028," + hex(element) + ") is not one 16-bit number");
    return u16(e.value, big_endian_);
  }
  std::string image_text(uint16_t element) const {
    const auto it = image_values_.find(element);
    if (it == image_values_.end()) return "";
    std::string text(bytes_.data() + it->second.value, it->second.length);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
    return text;
  }
  static std::string hex(uint16_t v) {
    char text[8];
    std::snprintf(text, sizeof text, "%04X", v);
    return text;
  }

  // The image pixel module, checked as GDCM asserts it (a value out of its
  // range aborts the process there): samples, sizes, bits, representation,
  // photometric interpretation, and native pixel data of the size they give.
  void check_image_module(const std::string& transfer_syntax) const {
    // GDCM reads the image module wherever it is given, pixel data or not.
    if (!pixel_data_ && image_values_.empty()) return;  // no image: GDCM's reader says so
    const long samples = image_number(0x0002), rows = image_number(0x0010), columns = image_number(0x0011);
    const long allocated = image_number(0x0100), stored = image_number(0x0101), high = image_number(0x0102);
    const long representation = image_number(0x0103), planar = image_number(0x0006);
    if (samples != 1 && samples != 3) fail_image("samples per pixel " + std::to_string(samples) + " (1 or 3 read)");
    if (rows <= 0 || columns <= 0) fail_image("no image size (rows and columns)");
    if (allocated != 8 && allocated != 16 && allocated != 32) fail_image("bits allocated " + std::to_string(allocated));
    if (stored <= 0 || stored > allocated) fail_image("bits stored " + std::to_string(stored));
    if (high != -1 && (high < stored - 1 || high >= allocated)) fail_image("high bit " + std::to_string(high));
    if (representation != 0 && representation != 1) fail_image("pixel representation " + std::to_string(representation));
    if (planar != -1 && planar != 0 && planar != 1) fail_image("planar configuration " + std::to_string(planar));
    static const char* kPhotometric[] = {"MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR", "YBR_FULL",
                                         "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT"};
    const std::string photometric = image_text(0x0004);
    bool known = false;
    for (const char* p : kPhotometric) known = known || photometric == p;
    if (!known) fail_image("photometric interpretation '" + photometric.substr(0, 32) + "'");
    if ((photometric.rfind("MONOCHROME", 0) == 0) != (samples == 1) && photometric != "PALETTE COLOR")
      fail_image("photometric interpretation " + photometric + " with " + std::to_string(samples) + " samples per pixel");
    const std::string frames = image_text_of(0x0028, 0x0008);
    if (!frames.empty() && frames != "1") fail_image("a multi-frame object (" + frames.substr(0, 12) + " frames)");
    if (transfer_syntax == "1.2.840.10008.1.2.5") check_rle(samples * (allocated / 8));
    if (native_pixel_length_ >= 0 && transfer_syntax.rfind("1.2.840.10008.1.2.4", 0) != 0 &&
        transfer_syntax != "1.2.840.10008.1.2.5") {
      const uint64_t needed = static_cast<uint64_t>(rows) * static_cast<uint64_t>(columns) *
                              static_cast<uint64_t>(samples) * static_cast<uint64_t>(allocated / 8);
      if (static_cast<uint64_t>(native_pixel_length_) < needed)
        fail_image("pixel data of " + std::to_string(native_pixel_length_) + " bytes where the image needs " +
                    std::to_string(needed));
    }
  }
  // RLE (PS3.5 annex G): a 64-byte header of the segment count and their
  // offsets, one segment per byte of each sample, in order within the frame.
  void check_rle(long segments) const {
    if (native_pixel_length_ >= 0) fail_image("RLE pixel data that is not encapsulated");
    if (first_fragment_.size() < 64) fail_image("an RLE frame without its 64-byte header");
    const size_t at = static_cast<size_t>(first_fragment_.data() - bytes_.data());
    const uint32_t count = u32(at, false);
    if (count != static_cast<uint32_t>(segments) || count < 1 || count > 15)
      fail_image("an RLE frame of " + std::to_string(count) + " segments where the image needs " +
                 std::to_string(segments));
    uint32_t previous = 0;
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t offset = u32(at + 4 + 4 * i, false);
      if ((i == 0 && offset != 64) || (i > 0 && offset <= previous) || offset >= first_fragment_.size())
        fail_image("RLE segment offsets out of order or past the frame");
      previous = offset;
    }
  }
  std::string image_text_of(uint16_t group, uint16_t element) const {
    return group == 0x0028 ? image_text(element) : "";
  }

  // Elements in [pos, end) in ascending tag order; inside an item of
  // undefined length, up to its delimiter: returns the position after it.
  size_t dataset(size_t pos, size_t end, int depth, bool until_delimiter) {
    uint32_t previous = 0;
    bool first = true;
    while (pos < end) {
      if (pos + 4 > end) fail(pos, "bytes left over after the last element");
      const uint16_t group = u16(pos, big_endian_), elem = u16(pos + 2, big_endian_);
      if (group == 0xfffe) {
        if (until_delimiter && elem == 0xe00d) {
          if (pos + 8 > end || u32(pos + 4, big_endian_) != 0) fail(pos, "a broken item delimiter");
          return pos + 8;
        }
        fail(pos, "an item tag among elements");
      }
      const uint32_t tag = uint32_t{group} << 16 | elem;
      if (!first && tag <= previous) fail(pos, "elements out of order");
      first = false;
      previous = tag;
      const Element e = element(pos, end, explicit_, big_endian_);
      check_attribute(e, pos);
      const bool pixel_data = group == 0x7fe0 && elem == 0x0010;
      if (depth == 0 && group == 0x0028 && e.length != kUndefined) image_values_[elem] = e;
      if (depth == 0 && pixel_data) {
        pixel_data_ = true;
        native_pixel_length_ = e.length == kUndefined ? -1 : static_cast<int64_t>(e.length);
      }
      const bool sequence = std::strcmp(e.vr, "SQ") == 0 || (!explicit_ && e.length == kUndefined) ||
                            (std::strcmp(e.vr, "UN") == 0 && e.length == kUndefined);
      if (e.length == kUndefined) {
        if (pixel_data && depth == 0) {
          if (explicit_ && std::strcmp(e.vr, "OB") != 0 && std::strcmp(e.vr, "OW") != 0 && std::strcmp(e.vr, "UN") != 0)
            fail(pos, "encapsulated pixel data with VR " + std::string(e.vr, 2));
          pos = fragments(e.value, end);
        }
        else if (sequence) pos = items(e.value, end, depth + 1, true);
        else fail(pos, "an undefined length on a value that cannot have one");
      } else {
        if (sequence) items(e.value, e.value + e.length, depth + 1, false);
        pos = e.value + e.length;
      }
    }
    if (until_delimiter) fail(pos, "an item without its delimiter");
    return pos;
  }

  // A sequence's items in [pos, end), up to its delimiter when `undefined`.
  size_t items(size_t pos, size_t end, int depth, bool undefined) {
    if (depth > kDeepest) fail(pos, "sequences nested deeper than " + std::to_string(kDeepest));
    while (pos < end) {
      const Element item = element(pos, end, false, big_endian_);
      if (item.group != 0xfffe) fail(pos, "a sequence holds something other than items");
      if (item.element == 0xe0dd) {
        if (!undefined || item.length != 0) fail(pos, "a misplaced sequence delimiter");
        return item.value;
      }
      if (item.element != 0xe000) fail(pos, "a sequence holds something other than items");
      if (item.length == kUndefined) {
        pos = dataset(item.value, end, depth, true);
      } else {
        dataset(item.value, item.value + item.length, depth, false);
        pos = item.value + item.length;
      }
    }
    if (undefined) fail(pos, "a sequence without its delimiter");
    return pos;
  }

  // Encapsulated pixel data: items of defined length, then the delimiter.
  size_t fragments(size_t pos, size_t end) {
    int index = 0;
    while (pos < end) {
      const Element item = element(pos, end, false, big_endian_);
      if (item.group != 0xfffe) fail(pos, "encapsulated pixel data holds something other than fragments");
      if (item.element == 0xe0dd) {
        if (item.length != 0) fail(pos, "a broken sequence delimiter");
        return item.value;
      }
      if (item.element != 0xe000 || item.length == kUndefined) fail(pos, "a broken pixel data fragment");
      if (index++ == 1) first_fragment_ = std::string_view(bytes_.data() + item.value, item.length);  // after the offset table
      pos = item.value + item.length;
    }
    fail(pos, "encapsulated pixel data without its delimiter");
  }

  std::string_view bytes_;
  std::string name_;
  bool explicit_ = true, big_endian_ = false;
  std::map<uint16_t, Element> image_values_;  // the top-level (0028,xxxx) elements
  bool pixel_data_ = false;
  int64_t native_pixel_length_ = -1;          // -1: encapsulated
  std::string_view first_fragment_;           // encapsulated: the first frame's bytes
};

}  // namespace

std::string check_dicom_structure(std::string_view bytes, const std::string& name) {
  return Walker(bytes, name).run();
}

}  // namespace sg
