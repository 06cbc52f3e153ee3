#include "model/stylegan2/losses.hpp"

#include <cmath>

namespace sg::stylegan2 {

namespace F = torch::nn::functional;

torch::Tensor logistic_discriminator_loss(const torch::Tensor& real_score, const torch::Tensor& fake_score) {
  return F::softplus(-real_score).mean() + F::softplus(fake_score).mean();
}

torch::Tensor r1_penalty(const torch::Tensor& real_score, const torch::Tensor& real) {
  const torch::Tensor grad = torch::autograd::grad({real_score.sum()}, {real}, {}, /*retain_graph=*/true,
                                                   /*create_graph=*/true)[0];
  return grad.pow(2).reshape({grad.size(0), -1}).sum(1).mean();
}

PathLength path_length_penalty(const torch::Tensor& images, const torch::Tensor& latents, double running_mean,
                               double decay, const torch::Tensor& projection,
                               const std::function<double(double)>& mean_over_ranks) {
  const torch::Tensor y = projection.defined()
                              ? projection
                              : torch::randn_like(images) / std::sqrt(static_cast<double>(images.size(2) * images.size(3)));
  const torch::Tensor grad = torch::autograd::grad({(images * y).sum()}, {latents}, {}, /*retain_graph=*/true,
                                                   /*create_graph=*/true)[0];
  const torch::Tensor lengths = torch::sqrt(grad.pow(2).sum(2).mean(1));
  PathLength out;
  const torch::Tensor local_mean = lengths.mean();
  const double own_mean = local_mean.item<double>();
  const double batch_mean = mean_over_ranks ? mean_over_ranks(own_mean) : own_mean;
  out.mean = running_mean + decay * (batch_mean - running_mean);
  // The reference leaves the new mean attached to this batch's lengths, so
  // the penalty's gradient also pulls the batch mean (by decay): the same
  // value as out.mean, differentiable through this rank's lengths.
  const torch::Tensor attached_mean = out.mean + decay * (local_mean - own_mean);
  out.penalty = (lengths - attached_mean).pow(2).mean();
  out.lengths = lengths.detach();
  return out;
}

}  // namespace sg::stylegan2
