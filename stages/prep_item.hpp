#pragma once
// The message that travels through the sg_prep graph: one input (a file or
// archive member) and everything the stages make of it. A bad input travels
// on with `error` set, so the ordered sink still sees its sequence number.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/images/image.hpp"
#include "dataset.pb.h"
#include "stages/source.hpp"

namespace sg {

struct PrepItem {
  uint64_t seq = 0;
  InputEntry entry;
  std::string bytes;  // contents, when read in memory (archive members, 2-D files)
  Split split = TRAIN;
  std::string subject;
  int class_index = -1;  // with a label rule: the class, stored per slice
  bool mirror = false;      // a flip rule matched
  uint32_t content_crc = 0; // CRC-32 of the contents, for the inputs digest
  uint64_t content_size = 0;

  Volume volume;
  std::vector<SliceF> raw_slices;
  int empty_slices_dropped = 0;
  std::vector<Image8> slices;
  std::vector<std::vector<Image8>> pyramids;      // per slice, per resolution (ascending)
  std::vector<std::vector<std::string>> records;  // per slice, per resolution (ascending)

  std::vector<std::string> warnings;
  std::string error;  // non-empty: this input is skipped, for this reason
  // Records not produced because nothing is left to write (e.g. all slices
  // empty) are not errors; `error` is for inputs that are broken.

  bool failed() const { return !error.empty(); }
};

using PrepItemPtr = std::shared_ptr<PrepItem>;

}  // namespace sg
