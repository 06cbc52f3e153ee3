#pragma once
// What D sees under ADA: a contact sheet of dataset records, each beside its
// augmented version at a given p.
#include <cstdint>
#include <string>

#include "common/images/image.hpp"

namespace sg {

struct AugmentSheetOptions {
  int size = 0;       // record size (0: the LMDB's largest)
  int count = 32;     // records (from the first of the training split)
  int columns = 4;    // pairs per row
  double p = 0.5;     // each transform's probability
  uint64_t seed = 0;  // of the augmentations drawn
};

// A grid of (record, augmented record) pairs. InputError for an LMDB that
// cannot be read or lacks the size; std::invalid_argument for p outside [0, 1).
Image8 augment_sheet(const std::string& lmdb, const AugmentSheetOptions& options);

}  // namespace sg
