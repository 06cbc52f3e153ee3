#pragma once
// Is the generator replaying its training images? Each image's nearest
// training image by pixel distance, and the statistics that compare the
// generated images' distances with those of held-out real images.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "dataset.pb.h"

namespace sg {

// Pixels as float features in [0, 1]: `fine` box-averaged to min(size,
// fine_resolution), `coarse` to min(size, coarse_resolution); [n, c*r*r].
struct ImageFeatures {
  torch::Tensor fine, coarse;
};
ImageFeatures image_features(const torch::Tensor& images, int fine_resolution = 64, int coarse_resolution = 16);
// Rows of both, in order (for sets read in chunks).
ImageFeatures concat_features(const std::vector<ImageFeatures>& parts);

class ImageCollection;
// The features of images `indexes` of a split, read in chunks so that only
// the downscaled pixels stay in memory (channels as the set's); a progress
// line named `label` when `show_progress`.
ImageFeatures collection_features(const ImageCollection& set, Split split, const std::vector<uint64_t>& indexes,
                                  int fine_resolution, int coarse_resolution, const char* label = "images",
                                  bool show_progress = false);

struct Nearest {
  std::vector<double> distance;  // RMS pixel difference on the 0..1 scale
  std::vector<int64_t> index;    // row of the training set
};

// For each query, the training image with the smallest distance in fine
// features, searched among its `candidates` nearest in coarse features (a
// replayed image is nearest at both scales; the coarse pass makes 10,000 x
// 10,000 comparisons take seconds). exclude[i] >= 0 leaves that training
// row out for query i (leave-one-out within the training set).
Nearest nearest_training_images(const ImageFeatures& queries, const ImageFeatures& train, int candidates = 16,
                                const std::vector<int64_t>& exclude = {});

// The same with whole groups left out: query i is compared only with
// training rows whose group differs from query_groups[i] (a patient's own
// slices, for leave-one-patient-out). A query with no row left gets an
// infinite distance and index -1.
Nearest nearest_other_group_images(const ImageFeatures& queries, const std::vector<int64_t>& query_groups,
                                   const ImageFeatures& train, const std::vector<int64_t>& train_groups,
                                   int candidates = 16);

// The rows of the `count` smallest distances, smallest first: the closest
// pairs a report shows.
std::vector<size_t> closest_rows(const std::vector<double>& distance, size_t count);

// The p-th percentile (0..100) with linear interpolation, as numpy's.
double percentile(std::vector<double> values, double p);
// The share of values strictly below the threshold.
double fraction_below(const std::vector<double>& values, double threshold);

}  // namespace sg
