#pragma once
// FID and KID on network features, defined as stylegan2-ada-pytorch's
// metrics define them (metrics/frechet_inception_distance.py,
// kernel_inception_distance.py, metric_utils.FeatureStats): FID between
// Gaussians with the sets' means and covariances (divided by n, as its
// FeatureStats), KID the unbiased MMD^2 with the cubic polynomial kernel
// (x.y / d + 1)^3 averaged over random subsets. Precision/recall on
// features is coverage.hpp's knn_precision_recall.
#include <torch/torch.h>

#include <cstdint>

namespace sg {

// Running first and second moments of feature rows in double, so that a
// set is summed batch by batch without keeping its rows.
class FeatureMoments {
 public:
  void add(const torch::Tensor& features);  // [n, d]
  int64_t count() const { return count_; }
  torch::Tensor mean() const;        // [d]
  torch::Tensor covariance() const;  // [d, d], divided by n

 private:
  torch::Tensor sum_, outer_sum_;
  int64_t count_ = 0;
};

// |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)). The trace of the
// square root is the sum of the square roots of the eigenvalues of
// S_a^(1/2) S_b S_a^(1/2) (symmetric, the same spectrum as S_a S_b), which
// stays real where scipy's sqrtm of the product picks up round-off
// imaginary parts.
double frechet_distance(const FeatureMoments& a, const FeatureMoments& b);

// One subset pair's unbiased MMD^2 with kernel (x.y / d + 1)^3: rows of x
// (generated) and y (real), the same count m.
double kernel_mmd2(const torch::Tensor& x, const torch::Tensor& y);

// KID: the mean of kernel_mmd2 over `subsets` draws of m = min(n_gen,
// n_real, max_subset) rows of each set without replacement, from `seed`.
double kernel_inception_distance(const torch::Tensor& generated, const torch::Tensor& real, int64_t max_subset,
                                 int subsets, uint64_t seed);

}  // namespace sg
