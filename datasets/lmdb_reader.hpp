#pragma once
// Reads a dataset LMDB written by sg_prep (or the reference prepare_data.py).
// Read-only with MDB_NOTLS, so transactions are not tied to OS threads and any
// thread (oneTBB task) may read; one reader per process and dataset.
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>
#include <optional>
#include <string>

#include "dataset.pb.h"

namespace sg {

// The "meta" record's bytes as a DatasetMeta, checked: resolutions 1..65536
// (each once), 1 or 3 channels, a known encoding. InputError naming `path`
// otherwise — a corrupt or hostile meta must not size anything.
DatasetMeta parse_dataset_meta(const std::string& bytes, const std::string& path);

class LmdbReader {
 public:
  // Throws InputError(path, reason) when it is missing or not an LMDB.
  explicit LmdbReader(const std::string& path);
  ~LmdbReader();
  LmdbReader(const LmdbReader&) = delete;
  LmdbReader& operator=(const LmdbReader&) = delete;

  const std::string& path() const { return path_; }
  // The "meta" record; nullopt for LMDBs made by the reference script.
  const std::optional<DatasetMeta>& meta() const { return meta_; }
  bool has_split(Split split) const;
  uint64_t length(Split split) const;

  // The value under `key` in the split's database, or nullopt.
  std::optional<std::string> get(Split split, const std::string& key) const;
  // The record of `size` at `index`; throws InputError when missing.
  std::string record(Split split, int size, uint64_t index) const;

  // Calls visit(i, value) for each key in one read transaction, without
  // copying values (they live in the map only during the call). Throws
  // InputError naming the first missing key. Safe from any thread.
  void visit(Split split, const std::vector<std::string>& keys,
             const std::function<void(size_t, std::string_view)>& visit) const;

  // Class labels (an LMDB written with a label rule): whether it has them,
  // the class names (index = label), and every record's label in a split,
  // checked (InputError naming a missing or corrupt one).
  bool has_labels() const;
  std::vector<std::string> class_names() const;
  std::vector<int> labels(Split split) const;

  // Every record's subject in a split (the id or, pseudonymised, its keyed
  // hash); false / InputError for an LMDB written before subjects were kept.
  bool has_subjects() const { return has_subject_dbi_[TRAIN]; }
  std::vector<std::string> subjects(Split split) const;

  // The sizes present: from the meta record, else probed ("{size}-00000").
  std::vector<int> sizes() const;
  // Throws InputError naming the sizes present when `size` is not one of them.
  void require_size(int size) const;

  // How records are stored: from the meta record, else what a meta-less
  // LMDB is read as (PNG, one channel).
  Encoding encoding() const { return meta_ ? meta_->encoding() : PNG; }
  int channels() const { return meta_ && meta_->has_channels() ? meta_->channels() : 1; }

 private:
  void open_databases();  // the split databases, the meta and length records
  std::string path_;
  void* env_ = nullptr;  // MDB_env*
  unsigned dbis_[3] = {0, 0, 0};
  bool has_dbi_[3] = {false, false, false};
  unsigned label_dbis_[3] = {0, 0, 0};
  bool has_label_dbi_[3] = {false, false, false};
  unsigned subject_dbis_[3] = {0, 0, 0};
  bool has_subject_dbi_[3] = {false, false, false};
  std::optional<DatasetMeta> meta_;
};

}  // namespace sg
