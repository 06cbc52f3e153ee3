#pragma once
// normalize: the intensity window, taking any input type to 8 bits.
#include <vector>

#include "common/images/image.hpp"
#include "dataset.pb.h"
#include "stages/prep_item.hpp"

namespace sg {

struct IntensityRange {
  float low = 0.f, high = 255.f;
};

// The window for a set of slices, per the configured mode; `type_min/max`
// are the input type's range (equal when it has none, as for float data).
IntensityRange compute_window(const std::vector<const SliceF*>& slices, float type_min, float type_max,
                              const IntensityWindow& config);

// Maps [low, high] linearly to [0, 255], rounding and clamping.
Image8 apply_window(const SliceF& slice, IntensityRange range);

void normalize_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
