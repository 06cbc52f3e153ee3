// A .zip input: listing (slips, absolute names, symlinks, encryption) and
// reading every member it allows (bombs: declared and inflated sizes capped).
#include "common/errors.hpp"
#include "fuzz_common.hpp"
#include "stages/source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sg::fuzz::write_scratch("input.zip", {reinterpret_cast<const char*>(data), size});
  try {
    sg::InputListing listing = sg::list_inputs(path);
    if (!listing.is_archive) return 0;
    sg::ArchiveReader reader(path);
    for (const sg::InputEntry& entry : listing.entries) {
      if (!entry.refusal.empty()) continue;
      try {
        reader.read_member(entry, 1u << 20);
      } catch (const sg::Error&) {
      }
    }
  } catch (const sg::Error&) {
  }
  return 0;
}
