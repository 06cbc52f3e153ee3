#pragma once
// pyramid: the largest size with an anti-aliased filter, each smaller size a
// 2x2 box average of the next larger one (as the official dataset_tool).
#include <vector>

#include "common/images/image.hpp"
#include "dataset.pb.h"
#include "stages/prep_item.hpp"

namespace sg {

// Separable resampling to size x size, as PIL's resize: the kernel is
// stretched by the scale when shrinking, so it anti-aliases.
Image8 resize_square(const Image8& image, int size, Pyramid::Filter filter);

// All `sizes` (ascending in the result) from one square image.
std::vector<Image8> build_pyramid(const Image8& square, std::vector<int> sizes, Pyramid::Filter filter);

// The configured resolutions, or the default 8..256.
std::vector<int> pyramid_sizes(const Pyramid& config);

void pyramid_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
