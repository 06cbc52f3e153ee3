#include "datasets/lmdb_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "common/errors.hpp"
#include "common/remove_tree.hpp"
#include "datasets/lmdb_keys.hpp"

namespace sg {
namespace fs = std::filesystem;

namespace {

// Temporary outputs of earlier runs that were killed (".NAME.tmp-PID" whose
// process is gone): half-written, never renamed. A ".old" twin is a previous
// output moved aside (where folders cannot trade names in one step) by a run
// killed before its new output took the name: it goes back when the name is
// free.
void remove_abandoned_outputs(const std::string& folder, const std::string& prefix, const std::string& final_path) {
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) return;
  std::vector<std::string> abandoned;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // still running
    abandoned.push_back(folder + "/" + name);
  }
  ::closedir(dir);
  std::error_code ec;
  for (const std::string& path : abandoned) {
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".old") == 0 && !fs::exists(final_path, ec)) {
      fs::rename(path, final_path, ec);
      if (!ec) continue;
    }
    remove_tree(path);
  }
}

MDB_env* as_env(void* p) { return static_cast<MDB_env*>(p); }

void check(int rc, const std::string& path, const char* what) {
  if (rc != MDB_SUCCESS) throw OutputError(path, std::string(what) + ": " + mdb_strerror(rc));
}

// liblmdb reports a write cut short by a full disk as EIO: say how much
// room was left, so that the line names the likely cause.
void check_write(int rc, const std::string& path, const std::string& folder, const char* what) {
  if (rc == MDB_SUCCESS) return;
  std::string reason = std::string(what) + ": " + mdb_strerror(rc);
  struct statvfs fs_stats;
  if ((rc == EIO || rc == ENOSPC) && ::statvfs(folder.c_str(), &fs_stats) == 0) {
    const double free_mib = static_cast<double>(fs_stats.f_bavail) * static_cast<double>(fs_stats.f_frsize) / (1 << 20);
    char room[96];
    std::snprintf(room, sizeof room, " (%.1f MiB free on its file system%s)", free_mib,
                  free_mib < 64 ? ": the disk is full?" : "");
    reason += room;
  }
  throw OutputError(path, reason);
}

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

DatasetMeta describe_dataset(const std::vector<int>& sizes, int channels, Encoding encoding,
                             const uint64_t (&records)[3]) {
  DatasetMeta meta;
  meta.set_format_version(kLmdbFormatVersion);
  for (int s : sizes) meta.add_resolutions(s);
  meta.set_channels(channels);
  meta.set_encoding(encoding);
  for (Split split : {TRAIN, VALIDATE, TEST}) {
    SplitCount* count = meta.add_counts();
    count->set_split(split);
    count->set_records(records[split]);
  }
  return meta;
}

LmdbWriter::LmdbWriter(std::string path, Options options) : path_(std::move(path)), options_(options) {
  std::error_code ec;
  fs::path final_path = fs::absolute(path_);
  if (final_path.filename().empty()) final_path = final_path.parent_path();
  const std::string temp_prefix = "." + final_path.filename().string() + ".tmp-";
  remove_abandoned_outputs(final_path.parent_path().string(), temp_prefix, final_path.string());
  if (fs::exists(path_, ec) && !options_.force)
    throw OutputError(path_, "already exists; pass --force to replace it");
  fs::create_directories(final_path.parent_path(), ec);
  temp_path_ = (final_path.parent_path() / (temp_prefix + std::to_string(::getpid()))).string();
  remove_tree(temp_path_);
  if (!fs::create_directory(temp_path_, ec)) throw OutputError(temp_path_, "cannot create: " + ec.message());

  MDB_env* env = nullptr;
  check(mdb_env_create(&env), path_, "mdb_env_create");
  env_ = env;
  map_size_ = options_.initial_map_size;
  check(mdb_env_set_mapsize(env, map_size_), path_, "mdb_env_set_mapsize");
  check(mdb_env_set_maxdbs(env, 16), path_, "mdb_env_set_maxdbs");
  // NOSYNC while writing, one mdb_env_sync at the end: the output only gets
  // its final name after that sync, so a crash never leaves a torn dataset.
  int rc = mdb_env_open(env, temp_path_.c_str(), MDB_NOSYNC, 0644);
  if (rc != MDB_SUCCESS) {
    abandon();
    check(rc, path_, "cannot create the LMDB");
  }
}

LmdbWriter::~LmdbWriter() {
  if (!finished_) abandon();
}

void LmdbWriter::abandon() noexcept {
  if (env_) {
    mdb_env_close(as_env(env_));
    env_ = nullptr;
  }
  if (!temp_path_.empty()) remove_tree(temp_path_);
}

void LmdbWriter::put_all(const std::vector<LmdbRecord>& batch) {
  MDB_env* env = as_env(env_);
  for (;;) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &txn), path_, "mdb_txn_begin");
    int rc = MDB_SUCCESS;
    MDB_dbi dbis[9];
    bool opened[9] = {};
    uint64_t bytes = 0;
    for (const LmdbRecord& record : batch) {
      const int s = static_cast<int>(record.split) + 3 * static_cast<int>(record.database);
      if (!opened[s]) {
        rc = mdb_dbi_open(txn, database_name(record.split, record.database), MDB_CREATE, &dbis[s]);
        if (rc != MDB_SUCCESS) break;
        opened[s] = true;
      }
      MDB_val key{record.key.size(), const_cast<char*>(record.key.data())};
      MDB_val value{record.value.size(), const_cast<char*>(record.value.data())};
      rc = mdb_put(txn, dbis[s], &key, &value, 0);
      if (rc != MDB_SUCCESS) break;
      bytes += record.key.size() + record.value.size();
    }
    if (rc == MDB_SUCCESS) rc = mdb_txn_commit(txn);
    else mdb_txn_abort(txn);
    if (rc == MDB_MAP_FULL) {
      // No transaction is active now, so the map may grow; retry the batch.
      map_size_ *= 2;
      check(mdb_env_set_mapsize(env, map_size_), path_, "growing the map");
      continue;
    }
    check_write(rc, path_, temp_path_, "writing records");
    bytes_written_ += bytes;
    return;
  }
}

void LmdbWriter::write(const std::vector<LmdbRecord>& batch) {
  if (batch.empty()) return;
  put_all(batch);
}

void LmdbWriter::finish(const DatasetMeta& meta) {
  std::vector<LmdbRecord> tail;
  for (const SplitCount& count : meta.counts())
    if (count.split() == TRAIN || count.records() > 0)
      tail.push_back({count.split(), "length", std::to_string(count.records())});
  std::string meta_bytes;
  if (!meta.SerializeToString(&meta_bytes)) throw OutputError(path_, "cannot serialise the meta record");
  tail.push_back({TRAIN, "meta", std::move(meta_bytes)});
  put_all(tail);

  check_write(mdb_env_sync(as_env(env_), 1), path_, temp_path_, "mdb_env_sync");
  mdb_env_close(as_env(env_));
  env_ = nullptr;

  // Swap into place: the old output (with --force) is removed only after the
  // new one has its name. Where the file system can, the two folders trade
  // names in one step (renameat2 RENAME_EXCHANGE), so that a kill at any
  // instant leaves the old output or the new one at the path, never neither.
  std::error_code ec;
  fs::path final_path = fs::absolute(path_);
  std::string old_path;
  if (fs::exists(final_path, ec)) {
    if (::renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, final_path.c_str(), RENAME_EXCHANGE) == 0) {
      fsync_directory(final_path.parent_path());
      finished_ = true;
      remove_tree(temp_path_);  // now the old output
      return;
    }
    old_path = temp_path_ + ".old";
    fs::rename(final_path, old_path, ec);
    if (ec) throw OutputError(path_, "cannot move the existing output aside: " + ec.message());
  }
  fs::rename(temp_path_, final_path, ec);
  if (ec) {
    if (!old_path.empty()) fs::rename(old_path, final_path, ec);
    throw OutputError(path_, "cannot rename the finished output into place: " + ec.message());
  }
  fsync_directory(final_path.parent_path());
  finished_ = true;
  if (!old_path.empty()) remove_tree(old_path);
}

}  // namespace sg
