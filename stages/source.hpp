#pragma once
// The graph's source: what an input path holds (a directory tree, a .zip
// archive, or one file) and the bytes of each entry.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stages/dicom_series.hpp"

namespace sg {

struct InputEntry {
  std::string name;          // path relative to the input root, '/'-separated
  std::string path;          // file on disk; empty for archive members
  int64_t member_index = -1; // index in the archive
  uint64_t declared_size = 0;
  std::string refusal;       // why the entry cannot be read safely (zip slip, symlink, encryption)
  // A DICOM series standing for its files (stages/dicom_series.hpp).
  std::shared_ptr<const DicomSeries> dicom;
};

struct InputListing {
  std::string root;
  bool is_archive = false;
  std::vector<InputEntry> entries;  // sorted by name: the order of the records
};

// Lists every regular file under `path` (recursively), every member of a zip
// archive, or the single file `path`. Throws InputError when the path does
// not exist or the archive cannot be opened.
InputListing list_inputs(const std::string& path);

// Checks an archive member name: no absolute path, drive letter, backslash or
// '..' component. Returns the reason, or "" when safe.
std::string unsafe_member_name_reason(const std::string& name);

// Reads archive members into memory, never onto disk. Not thread-safe
// (libzip handles are per-thread); the graph's serial source owns one.
class ArchiveReader {
 public:
  explicit ArchiveReader(const std::string& archive_path);
  ~ArchiveReader();
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // Reads at most max_bytes (a zip bomb guard: reading stops at the cap,
  // whatever the header declares); throws InputError naming the member.
  std::string read_member(const InputEntry& entry, uint64_t max_bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a whole file, refusing files over max_bytes.
std::string read_file_bytes(const std::string& path, const std::string& display_name, uint64_t max_bytes);

}  // namespace sg
