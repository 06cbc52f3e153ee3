#include "datasets/lmdb_reader.hpp"

#include <algorithm>

#include <lmdb.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "common/errors.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_pages.hpp"

namespace sg {

namespace {

MDB_env* as_env(void* p) { return static_cast<MDB_env*>(p); }

struct ReadTxn {
  MDB_txn* txn = nullptr;
  explicit ReadTxn(MDB_env* env, const std::string& path) {
    int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) throw InputError(path, std::string("cannot read the LMDB: ") + mdb_strerror(rc));
  }
  ~ReadTxn() {
    if (txn) mdb_txn_abort(txn);
  }
};

}  // namespace

DatasetMeta parse_dataset_meta(const std::string& bytes, const std::string& path) {
  DatasetMeta meta;
  if (!meta.ParseFromString(bytes)) throw InputError(path, "corrupt meta record");
  std::vector<int> seen;
  for (int r : meta.resolutions()) {
    if (r < 1 || r > 65536 || std::find(seen.begin(), seen.end(), r) != seen.end())
      throw InputError(path, "corrupt meta record: resolution " + std::to_string(r));
    seen.push_back(r);
  }
  if (meta.has_channels() && meta.channels() != 1 && meta.channels() != 3)
    throw InputError(path, "corrupt meta record: " + std::to_string(meta.channels()) + " channels");
  if (!Encoding_IsValid(meta.encoding())) throw InputError(path, "corrupt meta record: unknown encoding");
  std::vector<std::string> classes(meta.class_names().begin(), meta.class_names().end());
  std::sort(classes.begin(), classes.end());
  if (classes.size() == 1 || classes.size() > 65536 || std::adjacent_find(classes.begin(), classes.end()) != classes.end())
    throw InputError(path, "corrupt meta record: class names");
  return meta;
}

LmdbReader::LmdbReader(const std::string& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path, "no such LMDB");
  const std::string data = (std::filesystem::path(path) / "data.mdb").string();
  if (!std::filesystem::exists(data, ec)) throw InputError(path, "not an LMDB directory (no data.mdb)");
  // liblmdb would take an empty file for a new environment it may not write.
  if (std::filesystem::file_size(data, ec) == 0 && !ec) throw InputError(data, "empty (an incomplete copy?)");
  // liblmdb maps data.mdb and trusts its pages (a damaged one is a SIGSEGV,
  // a missing one a SIGBUS): they are checked, by reads, before it opens it.
  check_lmdb_pages(data);
  auto open = [&](unsigned extra) {
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_maxreaders(env, 1024);
    int rc = mdb_env_open(env, path.c_str(), MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD | extra, 0644);
    if (rc != MDB_SUCCESS) mdb_env_close(env);
    else env_ = env;
    return rc;
  };
  int rc = open(0);
  // A read-only copy (no write access to lock.mdb): read without the lock
  // file, as Caffe does under ALLOW_LMDB_NOLOCK.
  if (rc == EACCES || rc == EROFS) rc = open(MDB_NOLOCK);
  if (rc != MDB_SUCCESS) throw InputError(path, std::string("cannot open the LMDB: ") + mdb_strerror(rc));
  // A constructor that throws runs no destructor: the environment (its map
  // and lock file) is closed here.
  try {
    open_databases();
  } catch (...) {
    mdb_env_close(as_env(env_));
    env_ = nullptr;
    throw;
  }
}

void LmdbReader::open_databases() {
  {
    // Handles opened in a transaction stay valid for the environment only
    // once that transaction commits (an abort closes them).
    ReadTxn txn(as_env(env_), path_);
    for (Split split : {TRAIN, VALIDATE, TEST}) {
      MDB_dbi dbi;
      if (mdb_dbi_open(txn.txn, split_database_name(split), 0, &dbi) == MDB_SUCCESS) {
        dbis_[split] = dbi;
        has_dbi_[split] = true;
      }
      if (mdb_dbi_open(txn.txn, labels_database_name(split), 0, &dbi) == MDB_SUCCESS) {
        label_dbis_[split] = dbi;
        has_label_dbi_[split] = true;
      }
      if (mdb_dbi_open(txn.txn, subjects_database_name(split), 0, &dbi) == MDB_SUCCESS) {
        subject_dbis_[split] = dbi;
        has_subject_dbi_[split] = true;
      }
    }
    int rc = mdb_txn_commit(txn.txn);
    txn.txn = nullptr;
    if (rc != MDB_SUCCESS) throw InputError(path_, std::string("cannot open the LMDB's databases: ") + mdb_strerror(rc));
  }
  if (!has_dbi_[TRAIN]) throw InputError(path_, "the LMDB has no main database");
  if (auto bytes = get(TRAIN, "meta")) meta_ = parse_dataset_meta(*bytes, path_);
  if (!get(TRAIN, "length")) throw InputError(path_, "no \"length\" record: not a dataset LMDB");
}

LmdbReader::~LmdbReader() {
  if (env_) mdb_env_close(as_env(env_));
}

bool LmdbReader::has_split(Split split) const { return has_dbi_[split]; }

std::optional<std::string> LmdbReader::get(Split split, const std::string& key) const {
  if (!has_dbi_[split]) return std::nullopt;
  ReadTxn txn(as_env(env_), path_);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v;
  int rc = mdb_get(txn.txn, dbis_[split], &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != MDB_SUCCESS) throw InputError(path_, "reading " + key + ": " + mdb_strerror(rc));
  return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
}

uint64_t LmdbReader::length(Split split) const {
  auto text = get(split, "length");
  if (!text) return 0;
  try {
    return std::stoull(*text);
  } catch (const std::exception&) {
    throw InputError(path_, "corrupt \"length\" record: '" + *text + "'");
  }
}

void LmdbReader::visit(Split split, const std::vector<std::string>& keys,
                       const std::function<void(size_t, std::string_view)>& fn) const {
  if (!has_dbi_[split]) throw InputError(path_, std::string("no ") + split_display_name(split) + " split in this LMDB");
  ReadTxn txn(as_env(env_), path_);
  for (size_t i = 0; i < keys.size(); ++i) {
    MDB_val k{keys[i].size(), const_cast<char*>(keys[i].data())};
    MDB_val v;
    int rc = mdb_get(txn.txn, dbis_[split], &k, &v);
    if (rc == MDB_NOTFOUND)
      throw InputError(path_, "no record " + keys[i] + " in the " + split_display_name(split) + " split");
    if (rc != MDB_SUCCESS) throw InputError(path_, "reading " + keys[i] + ": " + mdb_strerror(rc));
    fn(i, std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
  }
}

std::vector<int> LmdbReader::sizes() const {
  if (meta_) return {meta_->resolutions().begin(), meta_->resolutions().end()};
  std::vector<int> found;
  for (int size = 4; size <= 1024; size *= 2)
    if (get(TRAIN, record_key(size, 0))) found.push_back(size);
  return found;
}

void LmdbReader::require_size(int size) const {
  const std::vector<int> present = sizes();
  if (std::find(present.begin(), present.end(), size) != present.end()) return;
  std::string have;
  for (int s : present) have += (have.empty() ? "" : " ") + std::to_string(s);
  throw InputError(path_, "holds no " + std::to_string(size) + "x" + std::to_string(size) + " records (sizes: " + have +
                              ")");
}

std::string LmdbReader::record(Split split, int size, uint64_t index) const {
  std::string key = record_key(size, index);
  auto value = get(split, key);
  if (!value) throw InputError(path_, std::string("no record ") + key + " in the " + split_display_name(split) + " split");
  return *value;
}

bool LmdbReader::has_labels() const { return meta_ && meta_->class_names_size() > 0 && has_label_dbi_[TRAIN]; }

std::vector<std::string> LmdbReader::class_names() const {
  if (!meta_) return {};
  return {meta_->class_names().begin(), meta_->class_names().end()};
}

std::vector<int> LmdbReader::labels(Split split) const {
  if (!has_labels()) throw InputError(path_, "holds no class labels (its config has no `labels` rule)");
  const uint64_t n = length(split);
  std::vector<int> out;
  if (n == 0) return out;
  if (!has_label_dbi_[split])
    throw InputError(path_, std::string("no labels for the ") + split_display_name(split) + " split");
  const int classes = meta_->class_names_size();
  out.reserve(n);
  ReadTxn txn(as_env(env_), path_);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string key = label_key(i);
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v;
    int rc = mdb_get(txn.txn, label_dbis_[split], &k, &v);
    if (rc == MDB_NOTFOUND)
      throw InputError(path_, "no " + key + " in the " + split_display_name(split) + " split's labels");
    if (rc != MDB_SUCCESS) throw InputError(path_, "reading " + key + ": " + mdb_strerror(rc));
    const std::string text(static_cast<const char*>(v.mv_data), std::min<size_t>(v.mv_size, 16));
    char* end = nullptr;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < 0 || value >= classes)
      throw InputError(path_, "corrupt " + key + " in the " + std::string(split_display_name(split)) + " split: '" + text +
                                  "' (" + std::to_string(classes) + " classes)");
    out.push_back(static_cast<int>(value));
  }
  return out;
}

std::vector<std::string> LmdbReader::subjects(Split split) const {
  const uint64_t n = length(split);
  std::vector<std::string> out;
  if (n == 0) return out;
  if (!has_subject_dbi_[split])
    throw InputError(path_, std::string("no subjects for the ") + split_display_name(split) +
                                " split (an LMDB made before sg_prep kept them: prepare it again)");
  out.reserve(n);
  ReadTxn txn(as_env(env_), path_);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string key = subject_key(i);
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v;
    const int rc = mdb_get(txn.txn, subject_dbis_[split], &k, &v);
    if (rc == MDB_NOTFOUND)
      throw InputError(path_, "no " + key + " in the " + split_display_name(split) + " split's subjects");
    if (rc != MDB_SUCCESS) throw InputError(path_, "reading " + key + ": " + mdb_strerror(rc));
    if (v.mv_size == 0 || v.mv_size > 4096)
      throw InputError(path_, "corrupt " + key + " in the " + std::string(split_display_name(split)) + " split (" +
                                  std::to_string(v.mv_size) + " bytes)");
    out.emplace_back(static_cast<const char*>(v.mv_data), v.mv_size);
  }
  return out;
}

}  // namespace sg
