#include "model/evaluation/feature_metrics.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sg {

void FeatureMoments::add(const torch::Tensor& features) {
  if (features.dim() != 2) throw std::invalid_argument("feature moments: rows [n, d] expected");
  const torch::Tensor x = features.to(torch::kCPU, torch::kDouble);
  if (count_ == 0) {
    sum_ = torch::zeros({x.size(1)}, x.options());
    outer_sum_ = torch::zeros({x.size(1), x.size(1)}, x.options());
  } else if (x.size(1) != sum_.size(0)) {
    throw std::invalid_argument("feature moments: " + std::to_string(x.size(1)) + " features after " +
                                std::to_string(sum_.size(0)));
  }
  sum_ += x.sum(0);
  outer_sum_.addmm_(x.t(), x);
  count_ += x.size(0);
}

torch::Tensor FeatureMoments::mean() const {
  if (count_ == 0) throw std::invalid_argument("feature moments: no rows");
  return sum_ / static_cast<double>(count_);
}

torch::Tensor FeatureMoments::covariance() const {
  const torch::Tensor mu = mean();
  return outer_sum_ / static_cast<double>(count_) - torch::outer(mu, mu);
}

double frechet_distance(const FeatureMoments& a, const FeatureMoments& b) {
  const torch::Tensor mean_term = (a.mean() - b.mean()).square().sum();
  const torch::Tensor sa = a.covariance(), sb = b.covariance();
  if (sa.size(0) != sb.size(0)) throw std::invalid_argument("FID: the sets' features differ in length");
  // S_a^(1/2) from its eigen-decomposition (negative round-off eigenvalues
  // of a PSD matrix clamped to 0).
  const auto [values, vectors] = at::linalg_eigh(sa, "L");  // ATen's name: torch::linalg moved headers in 2.x
  const torch::Tensor root = torch::mm(vectors * values.clamp_min(0).sqrt().unsqueeze(0), vectors.t());
  torch::Tensor middle = torch::mm(torch::mm(root, sb), root);
  middle = (middle + middle.t()) / 2;
  const torch::Tensor trace_root = at::linalg_eigvalsh(middle, "L").clamp_min(0).sqrt().sum();
  return (mean_term + sa.trace() + sb.trace() - 2 * trace_root).item<double>();
}

double kernel_mmd2(const torch::Tensor& generated, const torch::Tensor& real) {
  if (generated.dim() != 2 || real.dim() != 2 || generated.size(0) != real.size(0) || generated.size(1) != real.size(1))
    throw std::invalid_argument("KID: two subsets of the same shape [m, d] expected");
  const int64_t m = generated.size(0);
  if (m < 2) throw std::invalid_argument("KID: subsets of at least 2 rows are needed");
  const torch::Tensor x = generated.to(torch::kDouble), y = real.to(torch::kDouble);
  const double d = static_cast<double>(x.size(1));
  const torch::Tensor a = (torch::mm(x, x.t()) / d + 1).pow(3) + (torch::mm(y, y.t()) / d + 1).pow(3);
  const torch::Tensor b = (torch::mm(x, y.t()) / d + 1).pow(3);
  const double within = (a.sum() - a.diagonal().sum()).item<double>() / static_cast<double>(m - 1);
  return (within - b.sum().item<double>() * 2 / static_cast<double>(m)) / static_cast<double>(m);
}

double kernel_inception_distance(const torch::Tensor& generated, const torch::Tensor& real, int64_t max_subset,
                                 int subsets, uint64_t seed) {
  if (subsets < 1) throw std::invalid_argument("KID: at least one subset");
  const int64_t m = std::min({generated.size(0), real.size(0), max_subset});
  torch::Generator rng = at::detail::createCPUGenerator(seed);
  double total = 0;
  for (int s = 0; s < subsets; ++s) {
    const torch::Tensor gi = torch::randperm(generated.size(0), rng, torch::kLong).slice(0, 0, m);
    const torch::Tensor ri = torch::randperm(real.size(0), rng, torch::kLong).slice(0, 0, m);
    total += kernel_mmd2(generated.index_select(0, gi), real.index_select(0, ri));
  }
  return total / subsets;
}

}  // namespace sg
