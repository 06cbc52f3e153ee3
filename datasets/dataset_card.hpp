#pragma once
// The dataset card: what a reader of an LMDB needs to trust its images
// (where they came from, what was left out and why, how many subjects and
// classes, what made it and when), kept in its meta record, printed as
// Markdown by sg_inspect --card, and named by a digest in the checkpoints
// trained on it. A synthetic set's card says so first.
#include <map>
#include <string>
#include <vector>

#include "dataset.pb.h"

namespace sg {

// The first clause of a skip reason, the key it is counted under:
// "cannot decode PNG: libpng error: ..." counts as "cannot decode PNG".
std::string skip_reason_kind(const std::string& reason);

// Skipped inputs counted per reason kind, in the order each kind first
// occurred. Feed it (name, reason) pairs in input order.
class SkipTally {
 public:
  void add(const std::string& name, const std::string& reason);
  // Into meta.skipped, replacing what was there.
  void store(DatasetMeta& meta) const;

 private:
  std::vector<SkipCount> counts_;
  std::map<std::string, size_t> index_;
};

// A digest naming the card: fnv1a64 over the meta record as serialised
// (protobuf's deterministic serialisation), "fnv1a64:<16 hex digits>".
std::string dataset_card_digest(const DatasetMeta& meta);

// The card as Markdown; `path` is the LMDB it describes.
std::string dataset_card_markdown(const DatasetMeta& meta, const std::string& path);

}  // namespace sg
