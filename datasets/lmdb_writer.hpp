#pragma once
// Writes a dataset LMDB: batched transactions, map grown on MDB_MAP_FULL,
// written under a temporary name, synced, then renamed into place. An
// unfinished writer leaves nothing behind.
#include <cstdint>
#include <string>
#include <vector>

#include "dataset.pb.h"
#include "datasets/lmdb_keys.hpp"

namespace sg {

struct LmdbRecord {
  Split split = TRAIN;
  std::string key;
  std::string value;
  RecordDatabase database = RecordDatabase::Images;  // or the split's labels or subjects
};

// The "meta" record's description of a dataset: format version, sizes,
// channels, encoding and records per split (TRAIN, VALIDATE, TEST).
DatasetMeta describe_dataset(const std::vector<int>& sizes, int channels, Encoding encoding,
                             const uint64_t (&records)[3]);

class LmdbWriter {
 public:
  struct Options {
    bool force = false;                         // replace an existing output
    uint64_t initial_map_size = 256ull << 20;   // doubled whenever full
  };

  // Refuses (OutputError) an existing `path` unless options.force.
  LmdbWriter(std::string path, Options options);
  ~LmdbWriter();  // removes the temporary output unless finish() succeeded
  LmdbWriter(const LmdbWriter&) = delete;
  LmdbWriter& operator=(const LmdbWriter&) = delete;

  // One write transaction, begun and committed within this call (LMDB write
  // transactions belong to one OS thread).
  void write(const std::vector<LmdbRecord>& batch);

  // Writes "length" in each split's database and "meta" in the main one,
  // syncs, and renames the output into place.
  void finish(const DatasetMeta& meta);

  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t map_size() const { return map_size_; }
  const std::string& temporary_path() const { return temp_path_; }

 private:
  void put_all(const std::vector<LmdbRecord>& batch);
  void abandon() noexcept;

  std::string path_, temp_path_;
  Options options_;
  void* env_ = nullptr;  // MDB_env*, kept out of this header
  uint64_t map_size_ = 0;
  uint64_t bytes_written_ = 0;
  bool finished_ = false;
};

}  // namespace sg
