#pragma once
// GAN losses as the reference trains them, plus EMA and the optimisers.
#include <torch/torch.h>

#include <functional>

#include "model/stylegan/networks.hpp"

namespace sg::stylegan {

// D(x) at the current step and alpha.
using Critic = std::function<torch::Tensor(const torch::Tensor&)>;

struct DiscriminatorLoss {
  torch::Tensor total;       // what the D step backpropagates
  torch::Tensor real_score;  // mean D(real)
  torch::Tensor real_scores; // D(real) per image, detached (ADA's overfitting measure)
  torch::Tensor fake_score;  // mean D(fake)
  torch::Tensor penalty;     // gradient penalty (WGAN-GP) or R1 term
};

// WGAN-GP (Gulrajani et al. 2017), with the reference's drift term on real
// scores: -(D(real) - 0.001 D(real)^2) + D(fake) + lambda (|grad D(x_hat)| - 1)^2
// on interpolates x_hat = eps real + (1 - eps) fake, eps ~ U(0, 1) per sample.
// The penalty's gradient needs a double backward (create_graph). `eps`
// ([batch, 1, 1, 1]) is drawn on real's device when not given.
DiscriminatorLoss wgan_gp_discriminator_loss(const Critic& critic, const torch::Tensor& real,
                                             const torch::Tensor& fake, double lambda = 10.0,
                                             double drift = 0.001, const torch::Tensor& eps = {});

// The penalty alone: lambda * mean((|grad_x D(x)|_2 - 1)^2).
torch::Tensor gradient_penalty(const Critic& critic, const torch::Tensor& x, double lambda = 10.0);

// Non-saturating logistic with R1 on reals (Mescheder et al. 2018):
// softplus(-D(real)) + softplus(D(fake)) + gamma/2 |grad D(real)|^2.
DiscriminatorLoss r1_discriminator_loss(const Critic& critic, const torch::Tensor& real, const torch::Tensor& fake,
                                        double gamma = 10.0);

// Generator losses on D(G(z)): WGAN -mean, logistic softplus(-D).
torch::Tensor wgan_generator_loss(const torch::Tensor& fake_score);
torch::Tensor logistic_generator_loss(const torch::Tensor& fake_score);

// Adam(beta1 0, beta2 0.99) with the mapping network in its own group at
// lr * 0.01, as the reference's `mult` group.
std::unique_ptr<torch::optim::Adam> make_generator_optimizer(StyledGenerator& generator, double lr);
std::unique_ptr<torch::optim::Adam> make_discriminator_optimizer(Discriminator& discriminator, double lr);
// Sets every group's lr to lr * its multiplier (1, or 0.01 for the mapping).
void set_learning_rate(torch::optim::Adam& optimizer, double lr, bool has_mapping_group);

}  // namespace sg::stylegan
