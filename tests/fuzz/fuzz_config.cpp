// A dataset config in protobuf text format, parsed and checked as sg_prep
// loads it (unknown fields, bad values, absurd limits: ConfigError).
#include "common/errors.hpp"
#include "datasets/dataset_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    sg::parse_dataset_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz.textproto");
  } catch (const sg::Error&) {
  }
  return 0;
}
