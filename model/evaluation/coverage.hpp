#pragma once
// Does the generator cover what the data holds, and only that? Precision and
// recall as Kynkäänniemi et al. 2019 define them (stylegan2-ada-pytorch's
// pr50k3): each set's k-th-nearest-neighbour balls estimate its manifold;
// precision is the share of generated images inside the real manifold,
// recall the share of real images inside the generated one. A collapsed
// generator keeps its precision and loses its recall. Also the brightness of
// images' outer ring of pixels, which frame and corner artifacts raise.
#include <torch/torch.h>

#include <cstdint>

namespace sg {

struct PrecisionRecall {
  double precision = 0, recall = 0;
  int k = 3;
  int64_t real = 0, fake = 0;  // feature rows of each set
  torch::Tensor real_covered;  // [real] bool: the real rows inside some generated ball (recall's count)
};

// Density and coverage as Naeem et al. 2020 define them: both count the
// generated images inside the real images' own k-NN balls. Recall draws its
// balls around the generated images instead, so a few blurred, off-manifold
// samples (far from each other, hence with large balls) reach real images
// no sample resembles and raise it; these two they cannot. Coverage is the
// share of real images with a generated one inside their ball; density the
// mean number of real balls a generated image lies in, divided by k (about
// 1 where both sets come from one distribution, above 1 where the samples
// crowd where the data are dense).
struct DensityCoverage {
  double density = 0, coverage = 0;
  int k = 5;
  int64_t real = 0, fake = 0;
  torch::Tensor real_covered;  // [real] bool: a generated row inside the real row's ball (coverage's count)
};

// Features [n, d] (any: pixels, a network's), Euclidean distances; both
// sets need more than k rows.
PrecisionRecall knn_precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int k = 3);
// The same with the real set's radii given (kth_neighbour_radii(real, k)):
// several generated sets against one real set measure its balls once.
PrecisionRecall knn_precision_recall(const torch::Tensor& real, const torch::Tensor& real_radii,
                                     const torch::Tensor& fake, int k);

// k = 5 as the paper recommends.
DensityCoverage knn_density_coverage(const torch::Tensor& real, const torch::Tensor& fake, int k = 5);
// The same with the real set's radii given (kth_neighbour_radii(real, k)).
DensityCoverage knn_density_coverage(const torch::Tensor& real, const torch::Tensor& real_radii,
                                     const torch::Tensor& fake, int k);

// The distance from each row to its k-th nearest other row of the same set.
torch::Tensor kth_neighbour_radii(const torch::Tensor& features, int k);

// Mean value of the outer 1-pixel ring of uint8 images [n, c, h, w] (0..255).
double border_brightness(const torch::Tensor& images);

}  // namespace sg
