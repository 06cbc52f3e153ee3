#include "model/stylegan2/train_step.hpp"

#include <cmath>

#include "model/augment/pipeline.hpp"
#include "model/core/ema.hpp"
#include "model/core/trainable_gan.hpp"
#include "model/stylegan/losses.hpp"
#include "model/stylegan2/losses.hpp"

namespace sg::stylegan2 {

// StyleGAN's losses, shared: the same definitions as the references'.
using stylegan::Critic;
using stylegan::DiscriminatorLoss;
using stylegan::logistic_generator_loss;
using stylegan::wgan_generator_loss;
using stylegan::wgan_gp_discriminator_loss;

namespace {

// One latent, or two with probability `mixing` (then an inject index
// uniform over 1 .. n_latent - 1, as the reference's random.randint).
std::vector<torch::Tensor> draw_latents(int64_t batch, const Config& config, double mixing, std::mt19937_64& rng,
                                        SynthesisOptions& synthesis, const torch::TensorOptions& options) {
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  if (mixing > 0 && coin(rng) < mixing) {
    std::uniform_int_distribution<int> index(1, config.n_latent() - 1);
    synthesis.inject_index = index(rng);
    return {torch::randn({batch, config.style_dim}, options), torch::randn({batch, config.style_dim}, options)};
  }
  synthesis.inject_index = -1;
  return {torch::randn({batch, config.style_dim}, options)};
}

std::unique_ptr<torch::optim::Adam> make_adam(torch::nn::Module& module, const AdamSettings& s) {
  return std::make_unique<torch::optim::Adam>(
      module.parameters(), torch::optim::AdamOptions(s.lr).betas({s.beta1, s.beta2}).eps(1e-8));
}

}  // namespace

AdamSettings lazy_adam_settings(double lr, int interval) {
  const double c = interval > 0 ? static_cast<double>(interval) / (interval + 1) : 1.0;
  return {lr * c, std::pow(0.0, c), std::pow(0.99, c)};
}

double reference_ema_decay() { return std::pow(0.5, 32.0 / 10000.0); }

double ramped_ema_decay(const EmaOptions& ema, int64_t iteration, int64_t batch) {
  const uint64_t images = static_cast<uint64_t>(iteration + 1) * static_cast<uint64_t>(batch);
  return block_ema_decays(ema, {images}, batch).front();
}

Models make_models(const Config& config, double lr, Loss loss, const Regularization& r, torch::Device device) {
  Models m;
  m.generator = Generator(config);
  m.discriminator = Discriminator(config);
  m.ema = Generator(config);
  m.generator->to(device);
  m.discriminator->to(device);
  m.ema->to(device);
  start_ema(*m.ema, *m.generator);
  const bool lazy_path = r.path_weight > 0;
  m.g_optimizer = make_adam(*m.generator, lazy_adam_settings(lr, lazy_path ? r.g_every : 0));
  m.d_optimizer = make_adam(*m.discriminator, lazy_adam_settings(lr, loss == Loss::LogisticR1 ? r.d_every : 0));
  return m;
}

torch::Tensor draw_classes(const std::vector<double>& weights, int64_t count, torch::Device device) {
  if (weights.empty()) throw std::invalid_argument("a conditional model needs its classes' weights");
  const torch::Tensor w = torch::tensor(weights, torch::kDouble);
  return torch::multinomial(w, count, /*replacement=*/true).to(device);
}

StepStats train_step(Models& m, const torch::Tensor& real, const StepOptions& o, LazyState& state,
                     std::mt19937_64& rng, const torch::Tensor& real_labels) {
  const int64_t batch = real.size(0);
  const Config& config = m.generator->config;
  const bool conditional = config.classes > 0;
  if (conditional && (!real_labels.defined() || real_labels.size(0) != batch))
    throw std::invalid_argument("a conditional StyleGAN2 trains on labelled batches (one class per image)");
  const auto options = real.options();
  const Regularization& r = o.regularization;
  StepStats stats = state.last;
  if (!stats.penalty.defined()) stats.penalty = stats.path = stats.path_length = torch::zeros({}, options);
  // D as every loss and penalty sees it: through a fresh draw of ADA's
  // augmentations when p > 0 (gradients reach the un-augmented image).
  auto judge_of = [&](const torch::Tensor& labels) -> Critic {
    return [&, labels](const torch::Tensor& x) {
      const torch::Tensor seen = augment(x, o.augment_p, rng);
      AutocastScope autocast(seen.device(), o.precision);
      return full_precision(m.discriminator->forward(seen, labels));
    };
  };
  auto fake_classes = [&](int64_t n) { return conditional ? draw_classes(o.class_weights, n, real.device()) : torch::Tensor(); };
  const Critic judge_real = judge_of(real_labels);
  apply_float32_math(o.precision);

  // D step.
  set_requires_grad(*m.generator, false);
  set_requires_grad(*m.discriminator, true);
  {
    SynthesisOptions synthesis;
    synthesis.precision = o.precision;
    const auto z = draw_latents(batch, config, o.mixing, rng, synthesis, options);
    synthesis.labels = o.loss == Loss::WganGp ? real_labels : fake_classes(batch);
    const torch::Tensor fake = m.generator->forward(z, synthesis).image;
    const Critic judge_fake = judge_of(synthesis.labels);
    drop_gradients(*m.d_optimizer);
    if (o.loss == Loss::LogisticR1) {
      const torch::Tensor fake_score = judge_fake(fake);
      const torch::Tensor real_score = judge_real(real);
      stats.d_loss = logistic_discriminator_loss(real_score, fake_score);
      stats.real_signs = real_sign_sum(real_score.detach().flatten(), {}, false);
      stats.real_score = real_score.mean().detach();
      stats.fake_score = fake_score.mean().detach();
      stats.d_loss.backward();
    } else {
      DiscriminatorLoss loss = wgan_gp_discriminator_loss(judge_real, real, fake.detach(), r.wgan_lambda, r.wgan_drift);
      stats.real_signs = real_sign_sum(loss.real_scores, loss.fake_score.detach(), true);
      stats.d_loss = loss.total;
      stats.real_score = loss.real_score.detach();
      stats.fake_score = loss.fake_score.detach();
      stats.penalty = loss.penalty.detach();
      loss.total.backward();
    }
    stats.d_loss = stats.d_loss.detach();
    if (o.average_gradients) o.average_gradients(*m.d_optimizer);
    m.d_optimizer->step();
  }

  // Lazy R1: every d_every iterations, weighted by r1 / 2 * d_every.
  if (o.loss == Loss::LogisticR1 && r.d_every > 0 && o.iteration % r.d_every == 0) {
    const torch::Tensor x = real.detach().requires_grad_(true);
    const torch::Tensor real_score = judge_real(x);
    const torch::Tensor penalty = r1_penalty(real_score, x);
    drop_gradients(*m.d_optimizer);
    (r.r1 / 2 * penalty * r.d_every + 0 * real_score[0]).sum().backward();
    if (o.average_gradients) o.average_gradients(*m.d_optimizer);
    m.d_optimizer->step();
    stats.penalty = penalty.detach();
  }

  // G step.
  set_requires_grad(*m.generator, true);
  set_requires_grad(*m.discriminator, false);
  {
    SynthesisOptions synthesis;
    synthesis.precision = o.precision;
    const auto z = draw_latents(batch, config, o.mixing, rng, synthesis, options);
    synthesis.labels = fake_classes(batch);
    const torch::Tensor fake_score = judge_of(synthesis.labels)(m.generator->forward(z, synthesis).image);
    const torch::Tensor g_loss =
        o.loss == Loss::LogisticR1 ? logistic_generator_loss(fake_score) : wgan_generator_loss(fake_score);
    drop_gradients(*m.g_optimizer);
    g_loss.backward();
    if (o.average_gradients) o.average_gradients(*m.g_optimizer);
    m.g_optimizer->step();
    stats.g_loss = g_loss.detach();
  }

  // Lazy path length: every g_every iterations on batch / shrink samples,
  // weighted by path_weight * g_every.
  if (r.path_weight > 0 && r.g_every > 0 && o.iteration % r.g_every == 0) {
    const int64_t path_batch = std::max<int64_t>(1, batch / std::max(1, r.path_batch_shrink));
    SynthesisOptions synthesis;
    synthesis.precision = o.precision;
    const auto z = draw_latents(path_batch, config, o.mixing, rng, synthesis, options);
    synthesis.labels = fake_classes(path_batch);
    const GeneratorOutput out = m.generator->forward(z, synthesis);
    const PathLength path = path_length_penalty(out.image, out.latent, state.path_mean, r.path_decay, {}, o.mean_over_ranks);
    drop_gradients(*m.g_optimizer);
    (r.path_weight * r.g_every * path.penalty + 0 * out.image.flatten()[0]).backward();
    if (o.average_gradients) o.average_gradients(*m.g_optimizer);
    m.g_optimizer->step();
    state.path_mean = path.mean;
    stats.path = path.penalty.detach();
    stats.path_length = path.lengths.mean();
  }
  set_requires_grad(*m.discriminator, true);

  update_ema(*m.ema, *m.generator, o.ema_decay);
  state.last = stats;
  return stats;
}

}  // namespace sg::stylegan2
