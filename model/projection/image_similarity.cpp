#include "model/projection/image_similarity.hpp"

#include <algorithm>
#include <cmath>

namespace sg {

namespace F = torch::nn::functional;

namespace {

constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;

// A separable Gaussian of `taps` (odd) taps, sigma 1.5, as [c, 1, k, k].
torch::Tensor gaussian_window(int taps, int64_t channels, const torch::TensorOptions& options) {
  std::vector<float> g(static_cast<size_t>(taps));
  float total = 0;
  for (int i = 0; i < taps; ++i) {
    const double x = i - (taps - 1) / 2.0;
    g[static_cast<size_t>(i)] = static_cast<float>(std::exp(-x * x / (2 * 1.5 * 1.5)));
    total += g[static_cast<size_t>(i)];
  }
  const torch::Tensor line = torch::tensor(g) / total;
  return torch::outer(line, line).to(options).expand({channels, 1, taps, taps}).contiguous();
}

torch::Tensor local_mean(const torch::Tensor& x, const torch::Tensor& window) {
  const int64_t pad = window.size(2) / 2;
  return F::conv2d(F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect)), window,
                   F::Conv2dFuncOptions().groups(x.size(1)));
}

// SSIM's two per-pixel factors of images in [-1, 1].
struct SsimMaps {
  torch::Tensor luminance, contrast_structure;  // [n, c, h, w]
};

SsimMaps ssim_maps(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor x = (a + 1) / 2, y = (b + 1) / 2;
  const int64_t side = std::min(x.size(2), x.size(3));
  int taps = 11;
  while (taps / 2 >= side) taps -= 2;  // reflection needs the pad below the side
  const torch::Tensor window = gaussian_window(taps, x.size(1), x.options());
  const torch::Tensor mu_x = local_mean(x, window), mu_y = local_mean(y, window);
  const torch::Tensor var_x = local_mean(x * x, window) - mu_x * mu_x;
  const torch::Tensor var_y = local_mean(y * y, window) - mu_y * mu_y;
  const torch::Tensor cov = local_mean(x * y, window) - mu_x * mu_y;
  return {(2 * mu_x * mu_y + kC1) / (mu_x * mu_x + mu_y * mu_y + kC1), (2 * cov + kC2) / (var_x + var_y + kC2)};
}

torch::Tensor per_image_mean(const torch::Tensor& map) { return map.flatten(1).mean(1); }

}  // namespace

torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b) {
  const SsimMaps maps = ssim_maps(a, b);
  return per_image_mean(maps.luminance * maps.contrast_structure);
}

torch::Tensor ms_ssim(const torch::Tensor& a, const torch::Tensor& b) {
  static const double kWeights[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  int scales = 1;
  for (int64_t side = std::min(a.size(2), a.size(3)); scales < 5 && side / 2 >= 8; side /= 2) ++scales;
  double total = 0;
  for (int s = 0; s < scales; ++s) total += kWeights[s];
  torch::Tensor x = a, y = b, result;
  for (int s = 0; s < scales; ++s) {
    const SsimMaps maps = ssim_maps(x, y);
    const bool coarsest = s + 1 == scales;
    const torch::Tensor term =
        per_image_mean(coarsest ? maps.luminance * maps.contrast_structure : maps.contrast_structure);
    const torch::Tensor factor = term.clamp_min(1e-4).pow(kWeights[s] / total);
    result = result.defined() ? result * factor : factor;
    if (!coarsest) {
      x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(2));
      y = F::avg_pool2d(y, F::AvgPool2dFuncOptions(2));
    }
  }
  return result;
}

torch::Tensor noise_regularization(const std::vector<torch::Tensor>& noise) {
  torch::Tensor total = torch::zeros({}, noise.empty() ? torch::TensorOptions() : noise[0].options());
  for (const torch::Tensor& map : noise) {
    torch::Tensor level = map;
    while (true) {
      total = total + (level * torch::roll(level, 1, 3)).mean().square() +
              (level * torch::roll(level, 1, 2)).mean().square();
      if (level.size(2) <= 8) break;
      level = F::avg_pool2d(level, F::AvgPool2dFuncOptions(2));
    }
  }
  return total;
}

}  // namespace sg
