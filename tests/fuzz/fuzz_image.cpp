// PNG and JPEG slices, decoded in memory as sg_prep decodes files and
// archive members, and PNG records as the trainer's batch stream reads them.
#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "stages/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  sg::Limits limits;
  limits.set_max_pixels(1u << 22);
  try {
    sg::decode_image_bytes(bytes, "fuzz", limits);
  } catch (const sg::Error&) {
  }
  try {
    sg::decode_png8(bytes, "fuzz");
  } catch (const sg::Error&) {
  }
  return 0;
}
