#include "model/evaluation/memorization.hpp"


#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "common/progress.hpp"
#include "model/evaluation/image_set.hpp"
#include "model/evaluation/parallel.hpp"

namespace sg {

ImageFeatures image_features(const torch::Tensor& images, int fine_resolution, int coarse_resolution) {
  const int size = static_cast<int>(images.size(2));
  const int fine = std::min(size, fine_resolution), coarse = std::min(size, coarse_resolution);
  auto fine_pixels = box_downscale(images, fine);
  auto coarse_pixels = coarse == fine ? fine_pixels : box_downscale(images, coarse);
  const int64_t n = images.size(0);
  return {(fine_pixels / 255.0).reshape({n, -1}).contiguous(), (coarse_pixels / 255.0).reshape({n, -1}).contiguous()};
}

ImageFeatures concat_features(const std::vector<ImageFeatures>& parts) {
  std::vector<torch::Tensor> fine, coarse;
  for (const auto& p : parts) {
    fine.push_back(p.fine);
    coarse.push_back(p.coarse);
  }
  return {torch::cat(fine), torch::cat(coarse)};
}

ImageFeatures collection_features(const ImageCollection& set, Split split, const std::vector<uint64_t>& indexes,
                                  int fine_resolution, int coarse_resolution, const char* label, bool show_progress) {
  constexpr size_t kChunk = 2048;
  ProgressLine progress(label, indexes.size(), "images", show_progress);
  std::vector<ImageFeatures> parts;
  for (size_t first = 0; first < indexes.size(); first += kChunk) {
    const std::vector<uint64_t> chunk(indexes.begin() + static_cast<std::ptrdiff_t>(first),
                                      indexes.begin() + static_cast<std::ptrdiff_t>(std::min(indexes.size(), first + kChunk)));
    auto pixels = convert_channels(set.read(split, chunk), set.channels());
    parts.push_back(image_features(pixels, fine_resolution, coarse_resolution));
    progress.update(first + chunk.size(), first + chunk.size());
  }
  progress.finish();
  return concat_features(parts);
}

namespace {

// The search of both: `excluded(q, j)` leaves training row j out for query q.
template <typename Excluded>
Nearest nearest_images(const ImageFeatures& queries, const ImageFeatures& train, int candidates, Excluded excluded) {
  const int64_t n = queries.fine.size(0), t = train.fine.size(0), width = train.fine.size(1);
  if (queries.fine.size(1) != width || queries.coarse.size(1) != train.coarse.size(1))
    throw std::invalid_argument("nearest_training_images: queries and training images differ in size or channels");
  if (t == 0 || candidates <= 0) throw std::invalid_argument("nearest_training_images: no training image to compare with");
  Nearest result;
  result.distance.assign(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  result.index.assign(static_cast<size_t>(n), -1);
  const auto query_fine = queries.fine.contiguous(), train_fine = train.fine.contiguous();
  const auto query_coarse = queries.coarse.contiguous(), train_coarse = train.coarse.contiguous();
  const auto train_norms = train_coarse.square().sum(1).contiguous();
  const float* norms = train_norms.data_ptr<float>();
  constexpr int64_t kChunk = 256;
  parallel_items((n + kChunk - 1) / kChunk, [&](int64_t chunk) {
    const int64_t q0 = chunk * kChunk, q1 = std::min(n, q0 + kChunk);
    // |q|^2 + |t|^2 - 2 q.t: the products in one BLAS call per chunk.
    const auto products = torch::mm(query_coarse.slice(0, q0, q1), train_coarse.t()).contiguous();
    const float* dot = products.data_ptr<float>();
    std::vector<std::pair<float, int64_t>> coarse;
    coarse.reserve(static_cast<size_t>(t));
    for (int64_t q = q0; q < q1; ++q) {
      coarse.clear();
      for (int64_t j = 0; j < t; ++j)
        if (!excluded(q, j)) coarse.push_back({norms[j] - 2 * dot[(q - q0) * t + j], j});
      const int64_t k = std::min<int64_t>(candidates, static_cast<int64_t>(coarse.size()));
      if (k == 0) continue;
      std::partial_sort(coarse.begin(), coarse.begin() + k, coarse.end());
      const float* x = query_fine.data_ptr<float>() + q * width;
      double best = std::numeric_limits<double>::infinity();
      int64_t best_index = -1;
      for (int64_t c = 0; c < k; ++c) {
        const int64_t j = coarse[static_cast<size_t>(c)].second;
        const float* y = train_fine.data_ptr<float>() + j * width;
        float sum = 0;
        for (int64_t i = 0; i < width; ++i) sum += (x[i] - y[i]) * (x[i] - y[i]);
        if (sum < best || (sum == best && j < best_index)) {
          best = sum;
          best_index = j;
        }
      }
      result.distance[static_cast<size_t>(q)] = std::sqrt(best / static_cast<double>(width));
      result.index[static_cast<size_t>(q)] = best_index;
    }
  });
  return result;
}

}  // namespace

Nearest nearest_training_images(const ImageFeatures& queries, const ImageFeatures& train, int candidates,
                                const std::vector<int64_t>& exclude) {
  if (!exclude.empty() && static_cast<int64_t>(exclude.size()) != queries.fine.size(0))
    throw std::invalid_argument("nearest_training_images: one exclusion per query expected");
  if (!exclude.empty() && train.fine.size(0) < 2)
    throw std::invalid_argument("nearest_training_images: no training image to compare with");
  return nearest_images(queries, train, candidates, [&](int64_t q, int64_t j) {
    return !exclude.empty() && exclude[static_cast<size_t>(q)] == j;
  });
}

Nearest nearest_other_group_images(const ImageFeatures& queries, const std::vector<int64_t>& query_groups,
                                   const ImageFeatures& train, const std::vector<int64_t>& train_groups,
                                   int candidates) {
  if (static_cast<int64_t>(query_groups.size()) != queries.fine.size(0) ||
      static_cast<int64_t>(train_groups.size()) != train.fine.size(0))
    throw std::invalid_argument("nearest_other_group_images: one group per image expected");
  return nearest_images(queries, train, candidates, [&](int64_t q, int64_t j) {
    return train_groups[static_cast<size_t>(j)] == query_groups[static_cast<size_t>(q)];
  });
}

std::vector<size_t> closest_rows(const std::vector<double>& distance, size_t count) {
  std::vector<size_t> order(distance.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const size_t shown = std::min(order.size(), count);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                    [&](size_t a, size_t b) { return distance[a] < distance[b]; });
  order.resize(shown);
  return order;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double position = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(values.size() - 1, below + 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

double fraction_below(const std::vector<double>& values, double threshold) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto count = std::count_if(values.begin(), values.end(), [&](double v) { return v < threshold; });
  return static_cast<double>(count) / static_cast<double>(values.size());
}

}  // namespace sg
