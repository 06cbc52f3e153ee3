#include "model/core/checkpoint_drawer.hpp"

#include <utility>

namespace sg {

ImageDrawer CheckpointDrawer::seeded_images(uint64_t seed, double psi) {
  auto rng = std::make_shared<torch::Generator>(at::detail::createCPUGenerator(seed));
  torch::Tensor mean;
  if (psi != 1.0) mean = mean_w(*rng);
  auto drawn = std::make_shared<int64_t>(0);
  return [this, rng, mean, psi, drawn](int64_t count) {
    torch::NoGradGuard no_grad;
    const torch::Tensor z = torch::randn({count, style_dim()}, *rng).to(device());
    std::vector<torch::Tensor> noise;
    for (int64_t s : noise_sizes()) noise.push_back(torch::randn({count, 1, s, s}, *rng).to(device()));
    const torch::Tensor labels = labels_of(*drawn, count);
    *drawn += count;
    return to_uint8_images(synthesize(z, std::move(noise), mean, psi, labels));
  };
}

IndexedDrawer CheckpointDrawer::indexed_images(uint64_t seed, double psi) {
  torch::Tensor mean;
  if (psi != 1.0) {
    torch::Generator rng = at::detail::createCPUGenerator(seed);
    mean = mean_w(rng);
  }
  return [this, mean, psi, seed](int64_t first, int64_t count) {
    torch::NoGradGuard no_grad;
    IndexedDraws draws = indexed_draws(seed, first, count, style_dim(), noise_sizes(), device());
    return synthesize(draws.z, std::move(draws.noise), mean, psi, labels_of(first, count));
  };
}

}  // namespace sg
