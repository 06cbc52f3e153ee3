#pragma once
// Box downscaling of 8-bit images: the step between a pyramid's levels.
#include "common/images/image.hpp"

namespace sg {

// Halves each side, each output pixel the rounded mean of a 2x2 block.
Image8 half_box(const Image8& image);

}  // namespace sg
