#pragma once
// Inverting a generator (sg_project): the W or W+ latent and the noise maps
// whose image is closest to a target, found as stylegan2-ada-pytorch's
// projector.py finds them — w starts at the mean w with decaying Gaussian
// jitter (5% of w's spread, ramped to zero over the first 75% of the
// steps), Adam at lr 0.1 with a cosine ramp down over the last 25% and a
// ramp up over the first 5%, the noise maps penalised for structure
// (weight 1e5) and renormalised after every step.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/images/image.hpp"
#include "model/core/checkpoint_drawer.hpp"
#include "model/evaluation/feature_network.hpp"

namespace sg {

struct ProjectionOptions {
  int steps = 1000;
  bool w_plus = true;                  // one w per W+ row; false: one w for all (W)
  double learning_rate = 0.1;
  double initial_noise_factor = 0.05;  // w's jitter at the start, in units of w's spread
  double noise_ramp = 0.75;            // share of the steps over which the jitter falls to 0
  double lr_rampdown = 0.25, lr_rampup = 0.05;
  double noise_weight = 1e5;           // the noise maps' structure penalty
  // false: the noise maps stay at their random start and only w moves, so
  // that fine detail the generator does not model (a lesion) stays in the
  // residual instead of being painted in by the per-pixel noise.
  bool optimize_noise = true;
  // Weight of a prior on w: the mean over W+ rows of |w - mean w|^2 / w's
  // spread^2 (1 for a typical w) added to the distance. 0 as the anchors;
  // above it the latent stays among typical ones, so an anomaly is left in
  // the residual rather than reproduced.
  double w_prior = 0;
  int frame_every = 0;                 // a progress frame every this many steps (0: none)
  uint64_t seed = 0;                   // noise maps' start and w's jitter
};

// The mean w and its spread (root mean squared distance from the mean)
// over 10,000 mapped latents from `seed`, as the projector measures them.
struct WStatistics {
  torch::Tensor mean;  // [1, style_dim] on the generator's device
  double spread = 0;
};
WStatistics measure_w(CheckpointDrawer& generator, uint64_t seed);

// The distance minimised: LPIPS through a VGG16 TorchScript file
// (vgg16.pt; images above 256x256 area-averaged down to it, as the
// projector does), or without one pixel MSE + (1 - MS-SSIM) on images in
// [-1, 1]; images are clamped to [-1, 1] first, as they would be saved.
class ProjectionLoss {
 public:
  // `vgg` may be null: the MSE + MS-SSIM fallback.
  ProjectionLoss(const torch::Tensor& target, std::shared_ptr<FeatureNetwork> vgg);
  torch::Tensor operator()(const torch::Tensor& image) const;  // image [1, c, s, s] in [-1, 1]
  std::string name() const { return vgg_ ? "lpips" : "mse+ms-ssim"; }

 private:
  torch::Tensor lpips_input(const torch::Tensor& image) const;

  torch::Tensor target_;
  std::shared_ptr<FeatureNetwork> vgg_;
  torch::Tensor target_features_;
};

struct Projection {
  torch::Tensor w_plus;               // [1, rows, style_dim], CPU
  std::vector<torch::Tensor> noise;   // [1, 1, s, s] each, CPU
  torch::Tensor image;                // the reconstruction [1, c, s, s] in [-1, 1], CPU
  double loss = 0;                    // the reconstruction's distance (without the noise penalty)
  std::vector<Image8> frames;         // target | reconstruction, every frame_every steps and at the end
};

// Projects `target` ([1, c, s, s] in [-1, 1], the generator's size and
// channels) into `generator`'s W or W+ space. `on_step(step)` after each step.
Projection project(CheckpointDrawer& generator, const WStatistics& w, const torch::Tensor& target,
                   const ProjectionLoss& loss, const ProjectionOptions& options,
                   const std::function<void(int)>& on_step = {});

// The learning rate of `step` of `options.steps` (ramped up and down).
double projection_learning_rate(const ProjectionOptions& options, int step);

}  // namespace sg
