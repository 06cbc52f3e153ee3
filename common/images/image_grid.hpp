#pragma once
// Lays images out in a grid (as torchvision's make_grid: 2-pixel black
// padding), for contact sheets of datasets and sample grids.
#include <cstdint>
#include <vector>

#include "common/images/image.hpp"

namespace sg {

// All images must share size and channels; `columns` images per row,
// `padding` pixels of `separator` grey between and around them.
Image8 make_grid(const std::vector<Image8>& images, int columns, int padding = 2, uint8_t separator = 0);

// Each pixel as a factor x factor block (nearest neighbour): small tiles made
// visible without blurring what the network drew.
Image8 scale_up(const Image8& image, int factor);
// The power-of-two factor that brings a tile of `size` pixels to at least
// `min_pixels` (1 when it is that large already).
int readable_factor(int size, int min_pixels = 64);

// A grid to look at: every tile scaled up to at least 64 pixels, a 2-pixel
// mid-grey separator (scans have black backgrounds, so black padding would
// hide where a tile ends and make a bright frame along it look like data).
Image8 readable_grid(std::vector<Image8> images, int columns);

}  // namespace sg
