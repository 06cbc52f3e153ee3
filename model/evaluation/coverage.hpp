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

// Features [n, d] (any: pixels, a network's), Euclidean distances; both
// sets need more than k rows.
PrecisionRecall knn_precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int k = 3);
// The same with the real set's radii given (kth_neighbour_radii(real, k)):
// several generated sets against one real set measure its balls once.
PrecisionRecall knn_precision_recall(const torch::Tensor& real, const torch::Tensor& real_radii,
                                     const torch::Tensor& fake, int k);

// The distance from each row to its k-th nearest other row of the same set.
torch::Tensor kth_neighbour_radii(const torch::Tensor& features, int k);

// Mean value of the outer 1-pixel ring of uint8 images [n, c, h, w] (0..255).
double border_brightness(const torch::Tensor& images);

}  // namespace sg
