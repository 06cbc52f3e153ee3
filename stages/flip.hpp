#pragma once
// flip: orientation canonicalisation by rule (the item's `mirror` flag, set
// from the dataset's flip rules) and optional mirrored copies.
#include "common/images/image.hpp"
#include "dataset.pb.h"
#include "stages/prep_item.hpp"

namespace sg {

Image8 mirror_left_right(const Image8& image);

// Mirrors every slice when `mirror`, then, with `mirrored_copies`, follows
// each slice by its mirror image.
std::vector<Image8> apply_flip(std::vector<Image8> slices, bool mirror, bool mirrored_copies);

void flip_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
