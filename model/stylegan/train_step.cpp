#include "model/stylegan/train_step.hpp"

#include "model/augment/pipeline.hpp"
#include "model/core/adam_step.hpp"
#include "model/core/ema.hpp"

namespace sg::stylegan {

namespace {

// N(0, 1) or U(0, 1) of `shape` on `options`' device, from the CPU
// generator with host_randoms.
torch::Tensor draw(bool uniform, at::IntArrayRef shape, const StepSettings& s, const torch::TensorOptions& options) {
  if (!s.host_randoms) return uniform ? torch::rand(shape, options) : torch::randn(shape, options);
  auto host = uniform ? torch::rand(shape, options.device(torch::kCPU)) : torch::randn(shape, options.device(torch::kCPU));
  return host.to(options.device());
}

// One or two latents; with two, the crossover block is uniform over
// 0..step-1 (blocks up to it take the first latent), as the reference.
std::pair<std::vector<torch::Tensor>, int> draw_latents(int64_t batch, int style_dim, const StepSettings& s,
                                                        std::mt19937_64& rng, const torch::TensorOptions& options) {
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const bool mix = s.mixing && s.step > 0 && coin(rng) < s.mixing_probability;
  std::vector<torch::Tensor> z{draw(false, {batch, style_dim}, s, options)};
  if (!mix) return {z, -1};
  z.push_back(draw(false, {batch, style_dim}, s, options));
  std::uniform_int_distribution<int> crossover(0, s.step - 1);
  return {z, crossover(rng)};
}

// One noise map per block as the generator would draw it; empty (the
// generator draws on the device) without host_randoms.
std::vector<torch::Tensor> draw_noise(int64_t batch, const StepSettings& s, const torch::TensorOptions& options) {
  std::vector<torch::Tensor> noise;
  if (!s.host_randoms) return noise;
  for (int i = 0; i <= s.step; ++i) noise.push_back(draw(false, {batch, 1, size_for_step(i), size_for_step(i)}, s, options));
  return noise;
}

}  // namespace

void to_channels_last(StepModels& models) {
  sg::to_channels_last(*models.generator);
  sg::to_channels_last(*models.discriminator);
  sg::to_channels_last(*models.ema);
}

StepModels make_step_models(const StyleGanConfig& config, double lr, torch::Device device) {
  StepModels m{StyledGenerator(config), Discriminator(config), StyledGenerator(config), nullptr, nullptr};
  m.generator->to(device);
  m.discriminator->to(device);
  m.ema->to(device);
  start_ema(*m.ema, *m.generator);
  m.g_optimizer = make_generator_optimizer(m.generator, lr);
  m.d_optimizer = make_discriminator_optimizer(m.discriminator, lr);
  return m;
}

Critic make_critic(Discriminator& discriminator, const StepSettings& settings, const c10::Device& device) {
  return [&discriminator, settings, device](const torch::Tensor& x) {
    AutocastScope autocast(device, settings.precision);
    return discriminator->forward(x, settings.step, settings.alpha).to(torch::kFloat);
  };
}

StepStats train_step(StepModels& m, const torch::Tensor& real, const StepSettings& s, std::mt19937_64& rng) {
  const int64_t batch = real.size(0);
  const int style_dim = m.generator->config.style_dim;
  auto options = real.options();
  apply_float32_math(s.precision);
  const Critic plain_critic = make_critic(m.discriminator, s, real.device());
  // With ADA, D judges every image (real, fake, the penalties') through a
  // fresh draw of the augmentations, in fp32 before D's precision.
  const Critic critic = s.augment_p <= 0 ? plain_critic : Critic([&plain_critic, &rng, p = s.augment_p](const torch::Tensor& x) {
    return plain_critic(augment(x, p, rng));
  });
  auto generate = [&](const std::vector<torch::Tensor>& z, const GenerateOptions& o) {
    AutocastScope autocast(real.device(), s.precision);
    return m.generator->forward(z, s.step, s.alpha, o).to(torch::kFloat);
  };
  StepStats stats;

  // D step: the fake is made without a graph through G.
  set_requires_grad(*m.discriminator, true);
  drop_gradients(*m.d_optimizer);
  auto [z_d, crossover_d] = draw_latents(batch, style_dim, s, rng, options);
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    GenerateOptions o;
    o.crossover = crossover_d;
    o.noise = draw_noise(batch, s, options);
    fake = generate(z_d, o);
  }
  DiscriminatorLoss d =
      s.loss == GanLoss::WganGp
          ? wgan_gp_discriminator_loss(critic, real, fake, 10.0, 0.001,
                                       s.host_randoms ? draw(true, {batch, 1, 1, 1}, s, options) : torch::Tensor())
          : r1_discriminator_loss(critic, real, fake, s.r1_gamma);
  d.total.backward();
  if (s.average_gradients) s.average_gradients(*m.d_optimizer);
  multi_tensor_adam_step(*m.d_optimizer);
  stats.d_loss = d.total.detach();
  stats.penalty = d.penalty.detach();
  stats.real_signs = real_sign_sum(d.real_scores, d.fake_score.detach(), s.loss == GanLoss::WganGp);

  // G step against a frozen D.
  set_requires_grad(*m.discriminator, false);
  drop_gradients(*m.g_optimizer);
  auto [z_g, crossover_g] = draw_latents(batch, style_dim, s, rng, options);
  GenerateOptions o;
  o.crossover = crossover_g;
  o.noise = draw_noise(batch, s, options);
  auto score = critic(generate(z_g, o));
  auto g_loss = s.loss == GanLoss::WganGp ? wgan_generator_loss(score) : logistic_generator_loss(score);
  g_loss.backward();
  if (s.average_gradients) s.average_gradients(*m.g_optimizer);
  multi_tensor_adam_step(*m.g_optimizer);
  set_requires_grad(*m.discriminator, true);
  if (s.ema_decays.empty())
    update_ema(*m.ema, *m.generator, s.ema_decay);
  else
    update_ema_by_block(*m.ema, *m.generator, s.ema_decays);
  stats.g_loss = g_loss.detach();
  return stats;
}

}  // namespace sg::stylegan
