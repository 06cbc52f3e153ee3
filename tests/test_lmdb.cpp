#include "test_lmdb.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "test_util.hpp"

namespace sg::test {

namespace {

Image8 box_average(const Image8& image, int size) {
  const int factor = image.width / size;
  if (factor < 1 || size * factor != image.width) throw std::invalid_argument("sizes must divide the largest");
  const int area = factor * factor;
  Image8 out(size, size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      int sum = 0;
      for (int dy = 0; dy < factor; ++dy)
        for (int dx = 0; dx < factor; ++dx) sum += image.at(x * factor + dx, y * factor + dy);
      out.at(x, y) = static_cast<uint8_t>((sum + area / 2) / area);
    }
  return out;
}

}  // namespace

void write_synthetic_lmdb(const std::string& path, int count, const std::vector<int>& sizes, bool random_mirror) {
  if (sizes.empty()) throw std::invalid_argument("an LMDB needs a size");
  const int largest = *std::max_element(sizes.begin(), sizes.end());
  LmdbWriter writer(path, {});
  std::vector<LmdbRecord> records;
  for (int i = 0; i < count; ++i) {
    const Image8 slice = synthetic_slice(largest, largest, i);
    for (int size : sizes)
      records.push_back({TRAIN, record_key(size, static_cast<uint64_t>(i)),
                         encode_record(size == largest ? slice : box_average(slice, size), RAW, 1, 1)});
  }
  writer.write(records);
  DatasetMeta meta = describe_dataset(sizes, 1, RAW, {static_cast<uint64_t>(count), 0, 0});
  meta.mutable_config()->set_random_mirror(random_mirror);
  writer.finish(meta);
}

}  // namespace sg::test
