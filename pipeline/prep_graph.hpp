#pragma once
// sg_prep as a library: raw scans -> multi-resolution LMDB through a oneTBB
// flow graph (source -> decode -> slice -> normalize -> crop -> flip ->
// pyramid -> encode -> ordered LMDB sink).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataset.pb.h"

namespace sg {

enum class OnError { Skip, Fail };

struct PrepOptions {
  std::string input;
  std::string output;
  int threads = 0;  // 0: all cores
  OnError on_error = OnError::Skip;
  bool force = false;
  bool show_progress = false;
  uint64_t initial_map_size = 256ull << 20;
  // Non-empty: each record's subject is stored as pseudonym(key, id)
  // (common/keyed_hash.hpp), never the id; the key is not stored.
  std::string pseudonymise_key;
};

// A pseudonymisation key from a file: its bytes without a final line break
// (InputError naming the file when it cannot be read or is empty).
std::string read_pseudonym_key(const std::string& path);

struct PrepSummary {
  std::string output;
  size_t inputs_listed = 0;    // files or members found
  size_t inputs_selected = 0;  // taken by the include/exclude rules
  size_t inputs_read = 0;      // decoded successfully
  size_t inputs_skipped = 0;   // bad inputs
  uint64_t records[3] = {0, 0, 0};   // slices written per split
  uint64_t subjects[3] = {0, 0, 0};  // subjects with slices written, per split
  // With a label rule: the classes, and slices written per split and class.
  std::vector<std::string> class_names;
  std::vector<uint64_t> class_records[3];
  uint64_t empty_slices_dropped = 0;
  std::vector<std::string> skipped;   // "name: reason", in input order
  std::vector<std::string> warnings;  // "name: warning"
  uint64_t bytes_written = 0;
  double seconds = 0;
  std::string inputs_digest;
  std::string card_digest;  // the dataset card's (datasets/dataset_card.hpp)
  uint64_t total_slices() const { return records[0] + records[1] + records[2]; }
};

// Runs the whole graph. Bad inputs are skipped and listed, or (OnError::Fail)
// abort the run with an InputError; either way no partial LMDB is left.
PrepSummary run_prep(const DatasetConfig& config, const PrepOptions& options);

// The human summary printed at the end of a run.
std::string format_summary(const PrepSummary& summary, const DatasetConfig& config);

}  // namespace sg
