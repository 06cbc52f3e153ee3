#pragma once
// slice: a 3-D volume becomes 2-D slices along the configured axis, in the
// configured range, dropping near-empty slices.
#include "common/images/image.hpp"
#include "dataset.pb.h"
#include "stages/prep_item.hpp"

namespace sg {

struct SliceResult {
  std::vector<SliceF> slices;
  int dropped_empty = 0;
};

// 2-D images (depth 1) give themselves, never dropped.
SliceResult slice_volume(const Volume& volume, const Slicing& config);

// One slice across `axis` at `index`, rows reversed when flip_rows.
SliceF extract_slice(const Volume& volume, int axis, int index, bool flip_rows);

// The node body: fills item.raw_slices from item.volume and frees the volume.
void slice_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
