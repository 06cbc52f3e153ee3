#pragma once
// One StyleGAN2 training iteration as rosinality's stylegan2-pytorch
// train.py runs it: a D step, the lazy R1 step every d_reg_every
// iterations, a G step, the lazy path-length step every g_reg_every
// iterations, then the EMA.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <random>

#include "model/core/ema.hpp"
#include "model/stylegan2/networks.hpp"

namespace sg::stylegan2 {

enum class Loss {
  LogisticR1,  // non-saturating logistic, lazy R1 (the reference)
  WganGp,      // WGAN-GP (lambda 10, drift 0.001) at every D step; G lazy path length still
};

struct Regularization {
  double r1 = 10.0;              // R1 weight gamma
  int d_every = 16;              // lazy R1 interval
  double path_weight = 2.0;      // path-length weight (0: off)
  int g_every = 4;               // lazy path-length interval
  int path_batch_shrink = 2;
  double path_decay = 0.01;
  double wgan_lambda = 10.0, wgan_drift = 0.001;
};

// Adam for a network regularised lazily every k steps (Karras et al. 2020,
// appendix B): lr * c and betas (0^c, 0.99^c), c = k / (k + 1); k 0: none.
struct AdamSettings {
  double lr = 0, beta1 = 0, beta2 = 0;
};
AdamSettings lazy_adam_settings(double lr, int interval);

struct Models {
  Generator generator{nullptr};
  Discriminator discriminator{nullptr};
  Generator ema{nullptr};
  std::unique_ptr<torch::optim::Adam> g_optimizer, d_optimizer;
};

// G, D, the EMA (G's parameters copied; its own noise buffers, as the
// reference's g_ema) and the optimisers with the lazy correction: G's by
// g_every, D's by d_every (none under WGAN-GP, which regularises every step).
Models make_models(const Config& config, double lr, Loss loss, const Regularization& regularization,
                   torch::Device device);

// The reference's per-step EMA decay, 0.5^(32 / 10,000).
double reference_ema_decay();

// g_ema's decay at step `iteration` (from 0) of `batch` images: a half-life
// of ema.rampup x the images trained on, this step's included
// (StyleGAN2-ADA's ramp-up), capped at ema.decay. The reference's fixed
// decay keeps a share of the random initialisation that decides short runs
// (0.5^(1,000 / 312.5) = 11% after 1,000 steps); the ramp reaches the cap
// after 1 / (rampup x (1 - cap)) steps (6,250 at 0.05 and the reference's
// cap). rampup 0: the cap throughout, as train.py. One ramp for the whole
// generator: StyleGAN2's blocks all train from the first step.
double ramped_ema_decay(const EmaOptions& ema, int64_t iteration, int64_t batch);

struct StepOptions {
  int64_t iteration = 0;                       // decides the lazy steps (i % interval == 0)
  Loss loss = Loss::LogisticR1;
  Regularization regularization;
  double mixing = 0.9;                         // probability of two latents
  double ema_decay = reference_ema_decay();
  double augment_p = 0;                        // ADA: D sees every image augmented with this probability
  // bf16: G's synthesis and D's forward passes under bf16 autocast; the
  // mapping network, losses, penalties, weights and Adam stay fp32.
  Precision precision = Precision::Fp32;
  // Training across processes (unset: one process): called between every
  // backward pass and its optimiser step to average the gradients over
  // ranks, and on the path-length batch mean to average it likewise.
  std::function<void(torch::optim::Optimizer&)> average_gradients;
  std::function<double(double)> mean_over_ranks;
  // Conditional models: how the generator's classes are drawn, weights per
  // class (the data's class counts, or all equal for --balance).
  std::vector<double> class_weights;
};

struct StepStats {
  // Left on the device: read back only when logged. r1 and path hold the
  // last lazy step's values (zero before the first), as the reference logs.
  torch::Tensor d_loss, g_loss, penalty, path, path_length, real_score, fake_score;
  torch::Tensor real_signs;  // ADA: sum of sign(D(real)) over the D step's batch (about mean D(fake) under WGAN-GP)
};

// What carries from one iteration to the next besides the networks.
struct LazyState {
  double path_mean = 0;  // the running path-length mean (checkpointed)
  StepStats last;        // the last lazy steps' values, reported until the next
};

// One iteration on `real` (on the device); `rng` draws the mixing coin and
// inject index, torch's generator the latents and noise. Conditional models
// take the real images' classes `real_labels` [B] (int64) and draw the
// generator's from options.class_weights (under WGAN-GP the D step's fakes
// take the real batch's classes, so that the penalty's interpolations
// join images of one class).
StepStats train_step(Models& models, const torch::Tensor& real, const StepOptions& options, LazyState& state,
                     std::mt19937_64& rng, const torch::Tensor& real_labels = {});

// `count` classes drawn from `weights` (torch's generator), as int64 on `device`.
torch::Tensor draw_classes(const std::vector<double>& weights, int64_t count, torch::Device device);

}  // namespace sg::stylegan2
