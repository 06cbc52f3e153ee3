#pragma once
// StyleGAN2's losses and regularisers as rosinality's stylegan2-pytorch
// train.py computes them.
#include <torch/torch.h>

#include <functional>

namespace sg::stylegan2 {

// mean softplus(-D(real)) + mean softplus(D(fake)).
torch::Tensor logistic_discriminator_loss(const torch::Tensor& real_score, const torch::Tensor& fake_score);

// R1 (Mescheder et al. 2018) without its weight: the batch mean of
// |grad_x sum D(x)|^2, differentiable (create_graph) for the lazy step, which
// scales it by r1 / 2 * interval. `real` must require grad and `real_score`
// be D(real).
torch::Tensor r1_penalty(const torch::Tensor& real_score, const torch::Tensor& real);

struct PathLength {
  torch::Tensor penalty;  // mean (|J^T y| - a)^2, differentiable
  double mean = 0;        // the running mean a after this batch
  torch::Tensor lengths;  // |J^T y| per sample (detached)
};

// Path-length regularisation (Karras et al. 2020, 3.2): y ~ N(0, 1) / sqrt(HW)
// (`projection`, drawn when undefined), J^T y = grad_w sum(G(w) * y), lengths
// sqrt(mean over W+ entries of the squared norm); the running mean moves
// towards their mean by `decay`. Across processes, `mean_over_ranks` turns
// this batch's mean length into the mean over every rank's (so that every
// rank moves the running mean alike).
PathLength path_length_penalty(const torch::Tensor& images, const torch::Tensor& latents, double running_mean,
                               double decay = 0.01, const torch::Tensor& projection = {},
                               const std::function<double(double)>& mean_over_ranks = {});

}  // namespace sg::stylegan2
