#include "model/evaluation/coverage.hpp"

#include <stdexcept>
#include <string>

namespace sg {

namespace {

// Rows of the pairwise distances between a and b, a few at a time, so that
// 10,000 x 10,000 pairs never sit in memory at once.
template <typename Visit>
void distance_rows(const torch::Tensor& a, const torch::Tensor& b, Visit&& visit) {
  constexpr int64_t kRows = 512;
  const torch::Tensor b_norms = b.square().sum(1);
  for (int64_t first = 0; first < a.size(0); first += kRows) {
    const torch::Tensor rows = a.slice(0, first, std::min(a.size(0), first + kRows));
    // |x|^2 + |y|^2 - 2 x.y in double: the sets' distances are compared
    // with each other's radii, where float's cancellation would decide ties.
    const torch::Tensor squared = rows.square().sum(1, true) + b_norms.unsqueeze(0) - 2 * torch::mm(rows, b.t());
    visit(first, squared.clamp_min(0).sqrt());
  }
}

torch::Tensor as_double_rows(const torch::Tensor& features, const char* metric, const char* which, int k) {
  if (features.dim() != 2) throw std::invalid_argument(std::string(metric) + ": " + which + " features are not rows");
  if (features.size(0) <= k)
    throw std::invalid_argument(std::string(metric) + ": " + which + " set has " +
                                std::to_string(features.size(0)) + " images; more than k = " + std::to_string(k) +
                                " are needed");
  return features.to(torch::kDouble).contiguous();
}

// Both sets as double rows of one length, with one radius per real row.
struct KnnSets {
  torch::Tensor real, real_radii, fake;
};

KnnSets checked_sets(const char* metric, const torch::Tensor& real_features, const torch::Tensor& real_radii,
                     const torch::Tensor& fake_features, int k) {
  KnnSets sets{as_double_rows(real_features, metric, "real", k), real_radii.to(torch::kDouble),
               as_double_rows(fake_features, metric, "generated", k)};
  if (real_radii.dim() != 1 || real_radii.size(0) != sets.real.size(0))
    throw std::invalid_argument(std::string(metric) + ": one radius per real row expected");
  if (sets.real.size(1) != sets.fake.size(1))
    throw std::invalid_argument(std::string(metric) + ": the sets' features differ in length");
  return sets;
}

// Which rows of `queries` lie within some ball (centre row of `centres`,
// radius its entry of `radii`).
torch::Tensor rows_inside(const torch::Tensor& queries, const torch::Tensor& centres, const torch::Tensor& radii) {
  torch::Tensor inside = torch::empty({queries.size(0)}, torch::kBool);
  distance_rows(queries, centres, [&](int64_t first, const torch::Tensor& distances) {
    inside.slice(0, first, first + distances.size(0)).copy_((distances <= radii.unsqueeze(0)).any(1));
  });
  return inside;
}

double share(const torch::Tensor& mask) { return mask.to(torch::kDouble).mean().item<double>(); }

}  // namespace

torch::Tensor kth_neighbour_radii(const torch::Tensor& features, int k) {
  if (k < 1) throw std::invalid_argument("k-NN radii: k must be at least 1");
  const torch::Tensor x = as_double_rows(features, "k-NN radii", "the", k);
  torch::Tensor radii = torch::empty({x.size(0)}, x.options());
  distance_rows(x, x, [&](int64_t first, const torch::Tensor& distances) {
    // The k + 1 smallest include the row itself (distance 0).
    const torch::Tensor nearest = std::get<0>(distances.topk(k + 1, 1, /*largest=*/false, /*sorted=*/true));
    radii.slice(0, first, first + distances.size(0)).copy_(nearest.select(1, k));
  });
  return radii;
}

PrecisionRecall knn_precision_recall(const torch::Tensor& real_features, const torch::Tensor& fake_features, int k) {
  return knn_precision_recall(real_features, kth_neighbour_radii(real_features, k), fake_features, k);
}

PrecisionRecall knn_precision_recall(const torch::Tensor& real_features, const torch::Tensor& real_radii,
                                     const torch::Tensor& fake_features, int k) {
  const KnnSets sets = checked_sets("precision/recall", real_features, real_radii, fake_features, k);
  PrecisionRecall result;
  result.k = k;
  result.real = sets.real.size(0);
  result.fake = sets.fake.size(0);
  result.precision = share(rows_inside(sets.fake, sets.real, sets.real_radii));
  result.real_covered = rows_inside(sets.real, sets.fake, kth_neighbour_radii(sets.fake, k));
  result.recall = share(result.real_covered);
  return result;
}

DensityCoverage knn_density_coverage(const torch::Tensor& real_features, const torch::Tensor& fake_features, int k) {
  return knn_density_coverage(real_features, kth_neighbour_radii(real_features, k), fake_features, k);
}

DensityCoverage knn_density_coverage(const torch::Tensor& real_features, const torch::Tensor& real_radii,
                                     const torch::Tensor& fake_features, int k) {
  const KnnSets sets = checked_sets("density/coverage", real_features, real_radii, fake_features, k);
  // For each real row, how many generated rows lie inside its ball.
  torch::Tensor inside = torch::empty({sets.real.size(0)}, torch::kLong);
  distance_rows(sets.real, sets.fake, [&](int64_t first, const torch::Tensor& distances) {
    const int64_t rows = distances.size(0);
    const torch::Tensor radii = sets.real_radii.slice(0, first, first + rows).unsqueeze(1);
    inside.slice(0, first, first + rows).copy_((distances <= radii).sum(1));
  });
  DensityCoverage result;
  result.k = k;
  result.real = sets.real.size(0);
  result.fake = sets.fake.size(0);
  result.real_covered = inside > 0;
  result.coverage = share(result.real_covered);
  result.density = static_cast<double>(inside.sum().item<int64_t>()) / static_cast<double>(k * result.fake);
  return result;
}

double border_brightness(const torch::Tensor& images) {
  if (images.dim() != 4 || images.size(2) < 2 || images.size(3) < 2)
    throw std::invalid_argument("border brightness: images [n, c, h, w] of at least 2x2 expected");
  const torch::Tensor x = images.to(torch::kDouble);
  const int64_t h = x.size(2), w = x.size(3);
  const double sum = (x.select(2, 0).sum() + x.select(2, h - 1).sum() + x.select(3, 0).slice(2, 1, h - 1).sum() +
                      x.select(3, w - 1).slice(2, 1, h - 1).sum())
                         .item<double>();
  const double count = static_cast<double>(x.size(0) * x.size(1) * (2 * w + 2 * (h - 2)));
  return sum / count;
}

}  // namespace sg
