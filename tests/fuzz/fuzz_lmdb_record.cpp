// An LMDB's meta record and one record value, decoded as the reader and the
// batch stream decode them: the meta is checked, then the record decoded at
// each size the meta names. Bytes: 2 (meta length) + meta + record.
#include "common/errors.hpp"
#include "dataset.pb.h"
#include "datasets/lmdb_reader.hpp"
#include "datasets/record_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t meta_size = std::min<size_t>(size - 2, static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8);
  const std::string meta_bytes(reinterpret_cast<const char*>(data) + 2, meta_size);
  const std::string_view record(reinterpret_cast<const char*>(data) + 2 + meta_size, size - 2 - meta_size);
  try {
    const sg::DatasetMeta meta = sg::parse_dataset_meta(meta_bytes, "fuzz.lmdb");
    for (int resolution : meta.resolutions()) {
      try {
        sg::decode_record(record, meta.encoding(), resolution, meta.channels(), "record");
      } catch (const sg::Error&) {
      }
    }
  } catch (const sg::Error&) {
  }
  return 0;
}
