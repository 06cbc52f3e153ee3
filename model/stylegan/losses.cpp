#include "model/stylegan/losses.hpp"

namespace sg::stylegan {

namespace F = torch::nn::functional;

torch::Tensor gradient_penalty(const Critic& critic, const torch::Tensor& x, double lambda) {
  auto input = x.detach().requires_grad_(true);
  auto score = critic(input).sum();
  auto grad = torch::autograd::grad({score}, {input}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                    /*create_graph=*/true)[0];
  auto norm = grad.reshape({grad.size(0), -1}).norm(2, 1);
  return lambda * (norm - 1).pow(2).mean();
}

DiscriminatorLoss wgan_gp_discriminator_loss(const Critic& critic, const torch::Tensor& real,
                                             const torch::Tensor& fake, double lambda, double drift,
                                             const torch::Tensor& given_eps) {
  DiscriminatorLoss loss;
  auto real_pred = critic(real);
  loss.real_score = real_pred.mean();
  loss.real_scores = real_pred.detach().flatten();
  auto real_term = loss.real_score - drift * real_pred.pow(2).mean();
  auto fake_detached = fake.detach();
  loss.fake_score = critic(fake_detached).mean();
  auto eps = given_eps.defined() ? given_eps : torch::rand({real.size(0), 1, 1, 1}, real.options());
  auto x_hat = eps * real.detach() + (1 - eps) * fake_detached;
  loss.penalty = gradient_penalty(critic, x_hat, lambda);
  loss.total = -real_term + loss.fake_score + loss.penalty;
  return loss;
}

DiscriminatorLoss r1_discriminator_loss(const Critic& critic, const torch::Tensor& real, const torch::Tensor& fake,
                                        double gamma) {
  DiscriminatorLoss loss;
  auto real_input = real.detach().requires_grad_(true);
  auto real_scores = critic(real_input);
  auto grad = torch::autograd::grad({real_scores.sum()}, {real_input}, {}, true, true)[0];
  loss.penalty = (gamma / 2) * grad.reshape({grad.size(0), -1}).pow(2).sum(1).mean();
  auto fake_scores = critic(fake.detach());
  loss.real_score = real_scores.mean();
  loss.real_scores = real_scores.detach().flatten();
  loss.fake_score = fake_scores.mean();
  loss.total = F::softplus(-real_scores).mean() + F::softplus(fake_scores).mean() + loss.penalty;
  return loss;
}

torch::Tensor wgan_generator_loss(const torch::Tensor& fake_score) { return -fake_score.mean(); }

torch::Tensor logistic_generator_loss(const torch::Tensor& fake_score) { return F::softplus(-fake_score).mean(); }


namespace {

torch::optim::AdamOptions adam(double lr) { return torch::optim::AdamOptions(lr).betas({0.0, 0.99}).eps(1e-8); }

}  // namespace

std::unique_ptr<torch::optim::Adam> make_generator_optimizer(StyledGenerator& generator, double lr) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(generator->generator->parameters(), std::make_unique<torch::optim::AdamOptions>(adam(lr)));
  groups.emplace_back(generator->style->parameters(), std::make_unique<torch::optim::AdamOptions>(adam(lr * 0.01)));
  return std::make_unique<torch::optim::Adam>(std::move(groups), adam(lr));
}

std::unique_ptr<torch::optim::Adam> make_discriminator_optimizer(Discriminator& discriminator, double lr) {
  return std::make_unique<torch::optim::Adam>(discriminator->parameters(), adam(lr));
}

void set_learning_rate(torch::optim::Adam& optimizer, double lr, bool has_mapping_group) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    double mult = (has_mapping_group && i == 1) ? 0.01 : 1.0;
    static_cast<torch::optim::AdamOptions&>(groups[i].options()).lr(lr * mult);
  }
}

}  // namespace sg::stylegan
