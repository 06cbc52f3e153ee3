#pragma once
// Lays images out in a grid (as torchvision's make_grid: 2-pixel black
// padding), for contact sheets of datasets and sample grids.
#include <vector>

#include "stages/image.hpp"

namespace sg {

// All images must share size and channels; `columns` images per row.
Image8 make_grid(const std::vector<Image8>& images, int columns, int padding = 2);

}  // namespace sg
