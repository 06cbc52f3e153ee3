#pragma once
// Sliced Wasserstein distance between two image sets on Laplacian-pyramid
// patches, as Karras et al. 2018 (ProGAN, section 5 and appendix D) define
// it and as their metrics/sliced_wasserstein.py computes it: per level, 128
// random 7x7 patches per image; each set's patches normalised per channel
// by that set's own mean and std; 4 x 128 random unit directions; the
// distance between the sorted projections averaged; reported x 10^3.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace sg {

struct SwdOptions {
  int patch_size = 7;
  int patches_per_image = 128;
  int repeats = 4;                 // x directions_per_repeat = 512 projections
  int directions_per_repeat = 128;
  int min_resolution = 16;         // the coarsest level
  uint64_t seed = 0;               // patch positions and directions
};

struct SwdResult {
  std::vector<int> resolutions;    // finest first
  std::vector<double> per_level;   // x 10^3, one per resolution
  double average = 0;              // x 10^3
};

// The pyramid's resolutions for images of `size`: size, size/2, ... >= min.
std::vector<int> swd_resolutions(int size, int min_resolution = 16);

// cv2.pyrDown / pyrUp with the 5x5 binomial filter and mirrored borders, on
// float [n, c, h, w].
torch::Tensor pyramid_down(const torch::Tensor& images);
torch::Tensor pyramid_up(const torch::Tensor& images);
// Band-pass levels finest first; the last level is the low-pass remainder.
std::vector<torch::Tensor> laplacian_pyramid(const torch::Tensor& images, int levels);

// Patch descriptors of uint8 images [n, c, h, w], one [n * patches, c * 7 * 7]
// float tensor per pyramid level, not normalised. Patch positions depend on
// the seed and the image's index only, not on threads.
std::vector<torch::Tensor> patch_descriptors(const torch::Tensor& images, int levels, const SwdOptions& options,
                                             uint64_t seed);

// Each channel (a block of patch_size^2 columns) to zero mean, unit std.
torch::Tensor normalize_descriptors(const torch::Tensor& descriptors, int channels);

// Mean over `repeats * directions` random unit directions of the 1-D
// Wasserstein-1 distance between the projections of the rows of a and b
// (equal shapes [n, channels * k]), each set normalised per channel by its
// own statistics first (as normalize_descriptors). Not scaled.
double sliced_wasserstein(const torch::Tensor& a, const torch::Tensor& b, int channels, const SwdOptions& options);

// Both sets must have the same shape; counts may differ only if the caller
// trims them first (the distance pairs sorted samples one to one).
SwdResult swd_from_descriptors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                               int channels, const std::vector<int>& resolutions, const SwdOptions& options);

// The whole metric between two uint8 sets [n, c, s, s] of equal n, c and s.
SwdResult swd(const torch::Tensor& a, const torch::Tensor& b, const SwdOptions& options = {});

// Sorts n floats ascending (the LSD radix sort the distance uses).
void radix_sort_floats(float* values, size_t n);

}  // namespace sg
