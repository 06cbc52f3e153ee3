#include "model/evaluation/phantoms.hpp"

namespace sg {

torch::Tensor synthetic_phantoms(int64_t n, int size, uint64_t seed, int channels) {
  torch::NoGradGuard no_grad;
  auto rng = at::detail::createCPUGenerator(seed);
  auto uniform = [&](double lo, double hi) { return torch::rand({n, 1, 1, 1}, rng) * (hi - lo) + lo; };
  const auto axis = torch::linspace(-1.0, 1.0, size);
  const auto y = axis.view({1, 1, size, 1}), x = axis.view({1, 1, 1, size});
  auto ellipse = [&](const torch::Tensor& cx, const torch::Tensor& cy, const torch::Tensor& rx, const torch::Tensor& ry) {
    return ((x - cx) / rx).square() + ((y - cy) / ry).square();  // < 1 inside
  };
  const auto cx = uniform(-0.08, 0.08), cy = uniform(-0.08, 0.08);
  const auto rx = uniform(0.55, 0.75), ry = uniform(0.7, 0.9);
  const auto head = ellipse(cx, cy, rx, ry);
  const auto brain = ellipse(cx, cy, rx * 0.86, ry * 0.88);
  // Two ventricles, mirrored about the head's centre line.
  const auto vx = uniform(0.06, 0.16) * rx, vy = uniform(-0.2, 0.05), vr = uniform(0.08, 0.16);
  const auto ventricles = torch::minimum(ellipse(cx - vx, cy + vy, vr * 0.6, vr * 1.5),
                                         ellipse(cx + vx, cy + vy, vr * 0.6, vr * 1.5));
  // Smooth tissue texture: coarse noise, upsampled.
  const auto texture = torch::upsample_bilinear2d(torch::randn({n, 1, 8, 8}, rng), {size, size}, false);
  auto image = torch::zeros({n, 1, size, size});
  image = torch::where(head < 1, uniform(170, 230).expand_as(image), image);
  image = torch::where(brain < 1, uniform(90, 140) + texture * uniform(10, 25), image);
  image = torch::where(ventricles < 1, uniform(20, 50).expand_as(image), image);
  image = image + torch::randn({n, 1, size, size}, rng) * 3.0;  // acquisition noise
  return image.clamp(0, 255).round().to(torch::kUInt8).expand({n, channels, size, size}).contiguous();
}

}  // namespace sg
