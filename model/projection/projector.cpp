#include "model/projection/projector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/images/image_grid.hpp"
#include "model/core/drawing.hpp"
#include "model/projection/image_similarity.hpp"

namespace sg {

namespace F = torch::nn::functional;

WStatistics measure_w(CheckpointDrawer& generator, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::Generator rng = at::detail::createCPUGenerator(seed);
  const torch::Tensor z = torch::randn({10000, generator.style_dim()}, rng).to(generator.device());
  const torch::Tensor w = generator.map_to_w(z);
  WStatistics s;
  s.mean = w.mean(0, true);
  s.spread = std::sqrt((w - s.mean).square().sum().item<double>() / 10000.0);
  return s;
}

ProjectionLoss::ProjectionLoss(const torch::Tensor& target, std::shared_ptr<FeatureNetwork> vgg)
    : target_(target), vgg_(std::move(vgg)) {
  if (vgg_) {
    torch::NoGradGuard no_grad;
    target_features_ = vgg_->lpips_features(lpips_input(target_)).detach();
  }
}

torch::Tensor ProjectionLoss::lpips_input(const torch::Tensor& image) const {
  torch::Tensor x = (image + 1) * 127.5;
  if (x.size(2) > 256) x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({256, 256}));
  return x;
}

torch::Tensor ProjectionLoss::operator()(const torch::Tensor& image_in) const {
  // Compared as it would be saved: the generator's linear output may leave
  // [-1, 1] where a picture saturates.
  const torch::Tensor image = image_in.clamp(-1, 1);
  if (vgg_) return (vgg_->lpips_features(lpips_input(image)) - target_features_.to(image.device())).square().sum();
  const torch::Tensor target = target_.to(image.device());
  return (image - target).square().mean() + (1 - ms_ssim(image, target)).mean();
}

double projection_learning_rate(const ProjectionOptions& o, int step) {
  const double t = static_cast<double>(step) / o.steps;
  double ramp = std::min(1.0, (1.0 - t) / o.lr_rampdown);
  ramp = 0.5 - 0.5 * std::cos(ramp * M_PI);
  ramp *= std::min(1.0, t / o.lr_rampup);
  return o.learning_rate * ramp;
}

namespace {

Image8 progress_frame(const torch::Tensor& target, const torch::Tensor& image) {
  return readable_grid(tensor_to_images(torch::cat({target.cpu(), image.detach().cpu()})), 2);
}

}  // namespace

Projection project(CheckpointDrawer& generator, const WStatistics& w, const torch::Tensor& target,
                   const ProjectionLoss& loss, const ProjectionOptions& o, const std::function<void(int)>& on_step) {
  if (o.steps < 1) throw std::invalid_argument("a projection takes at least one step");
  const torch::Device device = generator.device();
  const int rows = generator.w_plus_rows();
  torch::Generator rng = at::detail::createCPUGenerator(o.seed);

  torch::Tensor w_opt = w.mean.detach().unsqueeze(1).repeat({1, o.w_plus ? rows : 1, 1}).clone().requires_grad_(true);
  std::vector<torch::Tensor> noise;
  for (int64_t s : generator.noise_sizes())
    noise.push_back(torch::randn({1, 1, s, s}, rng).to(device).requires_grad_(o.optimize_noise));
  std::vector<torch::Tensor> parameters{w_opt};
  if (o.optimize_noise) parameters.insert(parameters.end(), noise.begin(), noise.end());
  torch::optim::Adam adam(parameters, torch::optim::AdamOptions(o.learning_rate).betas({0.9, 0.999}).eps(1e-8));

  Projection result;
  for (int step = 0; step < o.steps; ++step) {
    const double t = static_cast<double>(step) / o.steps;
    const double jitter = w.spread * o.initial_noise_factor * std::pow(std::max(0.0, 1.0 - t / o.noise_ramp), 2);
    for (auto& group : adam.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(projection_learning_rate(o, step));
    torch::Tensor ws = w_opt + torch::randn(w_opt.sizes(), rng).to(device) * jitter;
    if (!o.w_plus) ws = ws.expand({1, rows, ws.size(2)});
    const torch::Tensor image = generator.synthesize_w_plus(ws, noise);
    const torch::Tensor distance = loss(image);
    torch::Tensor total = distance;
    if (o.optimize_noise) total = total + o.noise_weight * noise_regularization(noise);
    if (o.w_prior > 0)
      total = total + o.w_prior * (w_opt - w.mean.unsqueeze(1)).square().sum(2).mean() / (w.spread * w.spread);
    adam.zero_grad();
    total.backward();
    adam.step();
    if (o.optimize_noise) {
      torch::NoGradGuard no_grad;
      for (torch::Tensor& map : noise) {
        map.sub_(map.mean());
        map.mul_(map.square().mean().rsqrt());
      }
    }
    if (o.frame_every > 0 && step % o.frame_every == 0) result.frames.push_back(progress_frame(target, image));
    if (on_step) on_step(step);
  }

  torch::NoGradGuard no_grad;
  result.w_plus = (o.w_plus ? w_opt : w_opt.expand({1, rows, w_opt.size(2)})).detach().cpu().contiguous();
  for (const torch::Tensor& map : noise) result.noise.push_back(map.detach().cpu().contiguous());
  // The reconstruction of the final latent, without the last step's jitter.
  std::vector<torch::Tensor> noise_on_device;
  for (const torch::Tensor& map : result.noise) noise_on_device.push_back(map.to(device));
  const torch::Tensor image_on_device = generator.synthesize_w_plus(result.w_plus.to(device), noise_on_device);
  result.image = image_on_device.cpu();
  result.loss = loss(image_on_device).item<double>();
  if (o.frame_every > 0) result.frames.push_back(progress_frame(target, result.image));
  return result;
}

}  // namespace sg
