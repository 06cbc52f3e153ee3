#include "test_lmdb.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "common/images/box_filter.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "test_util.hpp"

namespace sg::test {

void write_synthetic_lmdb(const std::string& path, int count, const std::vector<int>& sizes, bool random_mirror) {
  if (sizes.empty()) throw std::invalid_argument("an LMDB needs a size");
  std::vector<int> sorted = sizes;
  std::sort(sorted.rbegin(), sorted.rend());  // largest first: each level halved from the one before
  const int largest = sorted.front();
  LmdbWriter writer(path, {});
  std::vector<LmdbRecord> records;
  for (int i = 0; i < count; ++i) {
    Image8 level = synthetic_slice(largest, largest, i);
    for (int size : sorted) {
      while (level.width > size) level = half_box(level);
      if (level.width != size) throw std::invalid_argument("sizes must halve down from the largest");
      records.push_back({TRAIN, record_key(size, static_cast<uint64_t>(i)), encode_record(level, RAW, 1, 1)});
    }
  }
  writer.write(records);
  DatasetMeta meta = describe_dataset(sizes, 1, RAW, {static_cast<uint64_t>(count), 0, 0});
  meta.mutable_config()->set_random_mirror(random_mirror);
  writer.finish(meta);
}

}  // namespace sg::test
