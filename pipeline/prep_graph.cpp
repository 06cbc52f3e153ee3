#include "pipeline/prep_graph.hpp"

#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <stdlib.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/hashing.hpp"
#include "common/keyed_hash.hpp"
#include "common/progress.hpp"
#include "common/remove_tree.hpp"
#include "common/tool_version.hpp"
#include "datasets/class_labels.hpp"
#include "datasets/dataset_card.hpp"
#include "datasets/dataset_rules.hpp"
#include "datasets/held_out.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "pipeline/stage_node.hpp"
#include "stages/crop.hpp"
#include "stages/decode.hpp"
#include "stages/dicom_process.hpp"
#include "stages/dicom_series.hpp"
#include "stages/encode.hpp"
#include "stages/flip.hpp"
#include "stages/normalize.hpp"
#include "stages/pyramid.hpp"
#include "stages/slice.hpp"
#include "stages/source.hpp"

namespace sg {

namespace {

using namespace tbb::flow;

// A name as one line of a report shows it: a hostile archive's 60,000-byte
// member name is cut.
std::string shown_name(const std::string& name) {
  constexpr size_t kShown = 120;
  if (name.size() <= kShown) return name;
  return name.substr(0, kShown) + "... (" + std::to_string(name.size()) + " bytes)";
}

// Batches records into LMDB write transactions, assigning each split's
// indices in input order.
class RecordSink {
 public:
  // `member_prefix`: "ARCHIVE:" before a member's name, so that a report
  // names the archive as well as the member ("" for a folder's files).
  RecordSink(LmdbWriter& writer, std::vector<int> sizes, OnError on_error, PrepSummary& summary,
             std::string member_prefix, std::string pseudonymise_key)
      : writer_(writer), sizes_(std::move(sizes)), on_error_(on_error), summary_(summary),
        member_prefix_(std::move(member_prefix)), pseudonymise_key_(std::move(pseudonymise_key)) {}

  void consume(PrepItem& item) {
    digest_input(item);
    const std::string name = member_prefix_ + shown_name(item.entry.name);
    for (const std::string& w : item.warnings) summary_.warnings.push_back(name + ": " + w);
    if (item.failed()) {
      if (on_error_ == OnError::Fail) throw InputError(name, item.error);
      ++summary_.inputs_skipped;
      summary_.skipped.push_back(name + ": " + item.error);
      skip_tally_.add(name, item.error);
      return;
    }
    ++summary_.inputs_read;
    summary_.empty_slices_dropped += static_cast<uint64_t>(item.empty_slices_dropped);
    if (!item.records.empty() && subjects_[item.split].insert(item.subject).second) ++summary_.subjects[item.split];
    const std::string stored_subject =
        pseudonymise_key_.empty() ? item.subject : pseudonym(pseudonymise_key_, item.subject);
    for (auto& levels : item.records) {
      uint64_t& index = summary_.records[item.split];
      for (size_t l = 0; l < levels.size(); ++l) {
        pending_bytes_ += levels[l].size();
        pending_.push_back({item.split, record_key(sizes_[l], index), std::move(levels[l])});
      }
      pending_.push_back({item.split, subject_key(index), stored_subject, RecordDatabase::Subjects});
      if (item.class_index >= 0) {
        pending_.push_back({item.split, label_key(index), std::to_string(item.class_index), RecordDatabase::Labels});
        ++summary_.class_records[item.split][static_cast<size_t>(item.class_index)];
      }
      ++index;
    }
    item.records.clear();
    // Caffe commits every 1,000 puts; by bytes too, so 256^2 slices do not
    // pile up in memory.
    if (pending_.size() >= 4096 || pending_bytes_ >= (64u << 20)) flush();
  }

  void flush() {
    writer_.write(pending_);
    pending_.clear();
    pending_bytes_ = 0;
  }

  std::string digest() const {
    return "fnv1a64:" + hex64(digest_);
  }

  const SkipTally& skip_tally() const { return skip_tally_; }

 private:
  void digest_input(const PrepItem& item) {
    digest_ = fnv1a64(item.entry.name.data(), item.entry.name.size() + 1, digest_);
    digest_ = fnv1a64(&item.content_size, sizeof item.content_size, digest_);
    digest_ = fnv1a64(&item.content_crc, sizeof item.content_crc, digest_);
  }

  LmdbWriter& writer_;
  std::vector<int> sizes_;
  OnError on_error_;
  PrepSummary& summary_;
  std::string member_prefix_;
  std::string pseudonymise_key_;
  std::vector<LmdbRecord> pending_;
  std::set<std::string> subjects_[3];
  SkipTally skip_tally_;
  uint64_t pending_bytes_ = 0;
  uint64_t digest_ = kFnv1a64Basis;
};

// What the rules say of one selected entry.
struct EntryLabel {
  std::string subject;
  int class_index = -1;
  Split split = TRAIN;
  bool mirror = false;
  std::string error;  // the entry is skipped, for this reason
};

// Every entry labelled before any is read: the held-out subjects are chosen
// among all the subjects of the run.
std::vector<EntryLabel> label_entries(const std::vector<const InputEntry*>& entries, const DatasetRules& rules,
                                      const SplitRule& split_rule, const ClassLabeller* classes,
                                      bool has_subject_rule) {
  std::vector<EntryLabel> labels(entries.size());
  std::vector<std::string> candidates;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& name = entries[i]->name;
    EntryLabel& label = labels[i];
    if (!entries[i]->refusal.empty()) {
      label.error = entries[i]->refusal;
      continue;
    }
    try {  // the rules refuse a path too long for their regexes
      // A DICOM series belongs to its PatientID unless the config says otherwise.
      const bool patient_id = entries[i]->dicom && !has_subject_rule && !entries[i]->dicom->patient_id.empty();
      label.subject = patient_id ? entries[i]->dicom->patient_id : rules.subject_of(name);
      auto split = rules.split_of(name);
      if (!split) {
        label.error = "no split folder in the path (the config's split rules name none of its folders)";
        continue;
      }
      label.split = *split;
      label.mirror = rules.mirrors(name);
      if (classes) label.class_index = classes->class_of(name, label.subject);
    } catch (const InputError& e) {
      label.error = e.reason();
      continue;
    }
    if (label.split == TRAIN) candidates.push_back(label.subject);
  }
  const HeldOutSubjects held_out(split_rule, candidates);
  for (EntryLabel& label : labels)
    if (label.error.empty() && label.split == TRAIN) label.split = held_out.split_of(label.subject);
  return labels;
}

// The source: the selected entries in name order with their labels; archive
// members are read here, serially (a libzip handle belongs to one thread at a
// time).
class EntrySource {
 public:
  EntrySource(const InputListing& listing, std::vector<const InputEntry*> entries, std::vector<EntryLabel> labels,
              const DatasetConfig& config)
      : listing_(listing), entries_(std::move(entries)), labels_(std::move(labels)), config_(config) {
    if (listing_.is_archive) archive_ = std::make_unique<ArchiveReader>(listing_.root);
  }

  PrepItemPtr next(tbb::flow_control& control) {
    if (position_ == entries_.size()) {
      control.stop();
      return nullptr;
    }
    auto item = std::make_shared<PrepItem>();
    item->seq = position_;
    item->entry = *entries_[position_];
    EntryLabel& label = labels_[position_++];
    item->subject = std::move(label.subject);
    item->class_index = label.class_index;
    item->split = label.split;
    item->mirror = label.mirror;
    item->error = std::move(label.error);
    if (!item->failed()) read_member(*item);
    return item;
  }

 private:
  void read_member(PrepItem& item) {
    if (!archive_ || item.entry.dicom) return;
    try {
      item.bytes = archive_->read_member(item.entry, config_.limits().max_input_bytes());
    } catch (const InputError& e) {
      item.error = e.reason();
      return;
    }
    archive_bytes_ += item.bytes.size();
    if (archive_bytes_ > config_.limits().max_archive_bytes())
      throw InputError(listing_.root, "archive inflates past the limit of " +
                                          std::to_string(config_.limits().max_archive_bytes()) + " bytes");
  }

  const InputListing& listing_;
  std::vector<const InputEntry*> entries_;
  std::vector<EntryLabel> labels_;
  const DatasetConfig& config_;
  std::unique_ptr<ArchiveReader> archive_;
  size_t position_ = 0;
  uint64_t archive_bytes_ = 0;
};

// A private folder for DICOM members of an archive (ITK reads files, not
// memory), removed with everything in it when the run ends either way.
class ExtractionFolder {
 public:
  ~ExtractionFolder() {
    if (!path_.empty()) remove_tree(path_);
  }
  std::string file_for(size_t index) {
    if (path_.empty()) {
      std::string pattern = (std::filesystem::temp_directory_path() / "sg_prep_dicom_XXXXXX").string();
      if (!mkdtemp(pattern.data())) throw OutputError(pattern, "cannot create a folder to extract DICOM members into");
      path_ = pattern;
    }
    return path_ + "/" + std::to_string(index) + ".dcm";
  }

 private:
  std::string path_;
};

// The selected DICOM files replaced by their series: each file's header
// read (in parallel), a file that cannot be a slice kept as an entry
// refused with its reason, every series one entry named by its folder and
// UID. `storage` owns the new entries; the result is in name order.
std::vector<const InputEntry*> gather_dicom_series(const InputListing& listing,
                                                   const std::vector<const InputEntry*>& selected,
                                                   const DatasetConfig& config, ExtractionFolder& extracted,
                                                   std::deque<InputEntry>& storage) {
  std::vector<const InputEntry*> out, dicom;
  for (const InputEntry* entry : selected) {
    std::string lower = entry->name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    (is_dicom_file_name(lower) && entry->refusal.empty() ? dicom : out).push_back(entry);
  }
  if (dicom.empty()) return out;
  std::vector<std::string> paths(dicom.size());
  if (listing.is_archive) {
    ArchiveReader archive(listing.root);
    uint64_t total = 0;
    for (size_t i = 0; i < dicom.size(); ++i) {
      std::string bytes;
      try {
        bytes = archive.read_member(*dicom[i], config.limits().max_input_bytes());
      } catch (const InputError& e) {
        storage.push_back(*dicom[i]);
        storage.back().refusal = e.reason();
        continue;
      }
      total += bytes.size();
      if (total > config.limits().max_archive_bytes())
        throw InputError(listing.root, "archive inflates past the limit of " +
                                           std::to_string(config.limits().max_archive_bytes()) + " bytes");
      paths[i] = extracted.file_for(i);
      write_file_atomically(paths[i], bytes, "extracted DICOM member");
    }
  } else {
    for (size_t i = 0; i < dicom.size(); ++i) paths[i] = dicom[i]->path;
  }
  // Headers in child processes (stages/dicom_process.hpp), a batch of files
  // per child, the batches in parallel.
  constexpr size_t kBatch = 64;
  std::vector<DicomSliceResult> results(dicom.size());
  tbb::parallel_for(size_t{0}, (dicom.size() + kBatch - 1) / kBatch, [&](size_t batch) {
    std::vector<std::pair<std::string, std::string>> files;
    std::vector<size_t> at;
    for (size_t i = batch * kBatch; i < std::min(dicom.size(), (batch + 1) * kBatch); ++i)
      if (!paths[i].empty()) {  // refused above
        files.push_back({paths[i], dicom[i]->name});
        at.push_back(i);
      }
    if (files.empty()) return;
    std::vector<DicomSliceResult> read = read_dicom_slices_isolated(files, config.limits().max_input_bytes());
    for (size_t k = 0; k < at.size(); ++k) results[at[k]] = std::move(read[k]);
  });
  std::vector<DicomSlice> readable;
  for (size_t i = 0; i < dicom.size(); ++i) {
    if (paths[i].empty()) continue;
    if (!results[i].refusal.empty()) {
      storage.push_back(*dicom[i]);
      storage.back().refusal = results[i].refusal;
    } else {
      readable.push_back(std::move(results[i].slice));
    }
  }
  for (DicomSeries& series : group_dicom_series(std::move(readable))) {
    InputEntry entry;
    entry.name = series.name;
    entry.dicom = std::make_shared<const DicomSeries>(std::move(series));
    storage.push_back(std::move(entry));
  }
  for (const InputEntry& entry : storage) out.push_back(&entry);
  std::stable_sort(out.begin(), out.end(), [](const InputEntry* a, const InputEntry* b) { return a->name < b->name; });
  return out;
}

// Why a run wrote nothing, naming the first inputs skipped and why: the
// summary that lists them is never printed when the run fails.
std::string nothing_written(const PrepSummary& summary) {
  std::string message = "no images: nothing was written (" + std::to_string(summary.inputs_skipped) +
                        " inputs skipped, " + std::to_string(summary.empty_slices_dropped) + " empty slices dropped)";
  constexpr size_t kNamed = 3;
  for (size_t i = 0; i < std::min(kNamed, summary.skipped.size()); ++i)
    message += (i == 0 ? "; skipped " : "; ") + summary.skipped[i];
  if (summary.skipped.size() > kNamed)
    message += "; and " + std::to_string(summary.skipped.size() - kNamed) + " more skipped";
  return message;
}

}  // namespace

PrepSummary run_prep(const DatasetConfig& config, const PrepOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PrepSummary summary;
  summary.output = options.output;

  const int threads = options.threads > 0 ? options.threads : tbb::info::default_concurrency();
  tbb::global_control parallelism(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));

  const InputListing listing = list_inputs(options.input);
  const DatasetRules rules(config);
  std::vector<const InputEntry*> selected;
  for (const InputEntry& entry : listing.entries)
    if (rules.selects(entry.name, is_supported_input_name(entry.name))) selected.push_back(&entry);
  summary.inputs_listed = listing.entries.size();
  summary.inputs_selected = selected.size();
  ExtractionFolder extracted;
  std::deque<InputEntry> dicom_entries;
  selected = gather_dicom_series(listing, selected, config, extracted, dicom_entries);
  if (selected.empty())
    throw InputError(options.input, "no images: none of its " + std::to_string(listing.entries.size()) +
                                        " files is a supported image or volume taken by the config's rules");

  std::unique_ptr<ClassLabeller> classes;
  if (config.has_labels()) {
    classes = std::make_unique<ClassLabeller>(config.labels());
    summary.class_names = classes->class_names();
    for (auto& counts : summary.class_records) counts.assign(summary.class_names.size(), 0);
  }
  LmdbWriter writer(options.output, {options.force, options.initial_map_size});
  const std::vector<int> sizes = pyramid_sizes(config.pyramid());
  RecordSink sink(writer, sizes, options.on_error, summary, listing.is_archive ? listing.root + ":" : "",
                  options.pseudonymise_key);
  const bool has_subject_rule = config.has_subject() && !config.subject().pattern().regex().empty();
  EntrySource entries(listing, selected, label_entries(selected, rules, config.split(), classes.get(), has_subject_rule),
                      config);
  ProgressLine progress("sg_prep", selected.size(), "slices", options.show_progress);
  const int tokens = config.limits().tokens() > 0 ? config.limits().tokens() : 4 * threads;

  // The map of the program: one node per stage, edges in data-flow order.
  graph g;
  input_node<PrepItemPtr> source(g, [&](tbb::flow_control& fc) { return entries.next(fc); });
  limiter_node<PrepItemPtr> in_flight(g, static_cast<size_t>(tokens));
  auto decode = make_stage_node<PrepItem>(g, "decode", [&](PrepItem& i) { decode_stage(i, config); });
  auto slice = make_stage_node<PrepItem>(g, "slice", [&](PrepItem& i) { slice_stage(i, config); });
  auto normalize = make_stage_node<PrepItem>(g, "normalize", [&](PrepItem& i) { normalize_stage(i, config); });
  auto crop = make_stage_node<PrepItem>(g, "crop", [&](PrepItem& i) { crop_stage(i, config); });
  auto flip = make_stage_node<PrepItem>(g, "flip", [&](PrepItem& i) { flip_stage(i, config); });
  auto pyramid = make_stage_node<PrepItem>(g, "pyramid", [&](PrepItem& i) { pyramid_stage(i, config); });
  auto encode = make_stage_node<PrepItem>(g, "encode", [&](PrepItem& i) { encode_stage(i, config); });
  sequencer_node<PrepItemPtr> in_order(g, [](const PrepItemPtr& item) { return item->seq; });
  size_t done = 0;
  function_node<PrepItemPtr, continue_msg> write(g, serial, [&](PrepItemPtr item) {
    sink.consume(*item);
    progress.update(++done, summary.total_slices());
    return continue_msg();
  });

  make_edge(source, in_flight);
  make_edge(in_flight, decode);
  make_edge(decode, slice);
  make_edge(slice, normalize);
  make_edge(normalize, crop);
  make_edge(crop, flip);
  make_edge(flip, pyramid);
  make_edge(pyramid, encode);
  make_edge(encode, in_order);
  make_edge(in_order, write);
  make_edge(write, in_flight.decrementer());

  source.activate();
  g.wait_for_all();  // rethrows a fatal error; the writer then removes its output
  progress.finish();

  sink.flush();
  if (summary.total_slices() == 0) throw InputError(options.input, nothing_written(summary));

  summary.inputs_digest = sink.digest();
  DatasetMeta meta = describe_dataset(sizes, config.channels(), config.encoding(), summary.records);
  for (SplitCount& count : *meta.mutable_counts()) {
    count.set_subjects(summary.subjects[count.split()]);
    for (uint64_t n : summary.class_records[count.split()]) count.add_class_records(n);
  }
  for (const std::string& name : summary.class_names) meta.add_class_names(name);
  meta.set_split_rule_version(kSplitRuleVersion);
  *meta.mutable_config() = config;
  meta.set_inputs_digest(summary.inputs_digest);
  meta.set_input(options.input);
  meta.set_created_by("sg_prep");
  meta.set_subjects_pseudonymised(!options.pseudonymise_key.empty());
  meta.set_inputs_read(summary.inputs_read);
  meta.set_empty_slices_dropped(summary.empty_slices_dropped);
  sink.skip_tally().store(meta);
  meta.set_tool_version(tool_version());
  meta.set_created_at(utc_timestamp());
  summary.card_digest = dataset_card_digest(meta);
  writer.finish(meta);

  summary.bytes_written = writer.bytes_written();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

std::string read_pseudonym_key(const std::string& path) {
  std::string key = read_file_bytes(path, path, 1 << 16);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.empty()) throw InputError(path, "empty: no pseudonymisation key");
  return key;
}

std::string format_summary(const PrepSummary& s, const DatasetConfig& config) {
  std::ostringstream out;
  out << "wrote " << s.output << " (" << Encoding_Name(config.encoding()) << ", sizes";
  for (int size : pyramid_sizes(config.pyramid())) out << ' ' << size;
  out << ", " << config.channels() << (config.channels() == 1 ? " channel)\n" : " channels)\n");
  out << "  inputs:  " << s.inputs_read << " read, " << s.inputs_skipped << " skipped ("
      << s.inputs_selected << " of " << s.inputs_listed << " files taken by the config)\n";
  out << "  slices:  train " << s.records[TRAIN] << ", validate " << s.records[VALIDATE] << ", test "
      << s.records[TEST] << " (" << s.total_slices() << " written";
  if (s.empty_slices_dropped > 0) out << ", " << s.empty_slices_dropped << " empty slices dropped";
  out << ")\n";
  if (s.subjects[TRAIN] + s.subjects[VALIDATE] + s.subjects[TEST] > 0)
    out << "  subjects: train " << s.subjects[TRAIN] << ", validate " << s.subjects[VALIDATE] << ", test "
        << s.subjects[TEST] << '\n';
  out << describe_class_counts(s.class_names, s.class_records);
  char line[160];
  std::snprintf(line, sizeof line, "  bytes:   %.1f MB in %.2f s (%.0f slices/s)\n",
                static_cast<double>(s.bytes_written) / 1e6, s.seconds,
                s.seconds > 0 ? static_cast<double>(s.total_slices()) / s.seconds : 0.0);
  out << line;
  out << "  card:    " << s.card_digest << " (sg_inspect --card)\n";
  for (const std::string& w : s.warnings) out << "  warning: " << w << '\n';
  const size_t shown = std::min<size_t>(s.skipped.size(), 20);
  for (size_t i = 0; i < shown; ++i) out << "  skipped: " << s.skipped[i] << '\n';
  if (s.skipped.size() > shown) out << "  ... and " << s.skipped.size() - shown << " more skipped\n";
  return out.str();
}

}  // namespace sg
