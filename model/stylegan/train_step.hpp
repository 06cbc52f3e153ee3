#pragma once
// StyleGAN's training iteration as the reference's train.py runs it: a D
// step (loss with its penalty) and a G step, with style mixing, then the EMA.
#include <torch/torch.h>

#include <functional>
#include <random>
#include <vector>

#include "model/core/trainable_gan.hpp"
#include "model/devices/precision.hpp"
#include "model/stylegan/losses.hpp"
#include "model/stylegan/networks.hpp"

namespace sg::stylegan {

struct StepModels {
  StyledGenerator generator;
  Discriminator discriminator;
  StyledGenerator ema;
  std::unique_ptr<torch::optim::Adam> g_optimizer, d_optimizer;
};

struct StepStats {
  torch::Tensor d_loss, g_loss, penalty;  // left on the device: read back only when logged
  torch::Tensor real_signs;               // ADA: sum over the batch of sign(D(real)) (see real_sign_sum)
};

struct StepSettings {
  int step = 0;
  double alpha = 1.0;
  GanLoss loss = GanLoss::WganGp;
  double r1_gamma = 10.0;  // the R1 weight of GanLoss::R1 (the reference's 10)
  bool mixing = true;
  double mixing_probability = 0.9;
  double ema_decay = 0.999;
  // Per generator block (model/core/ema.hpp); empty: ema_decay for every parameter.
  std::vector<double> ema_decays;
  Precision precision = Precision::Fp32;
  // Latents, noise maps and the penalty's interpolation weights drawn from
  // torch's CPU generator and copied over, so that a seed gives the same
  // step on every device (the CUDA-against-CPU test). Off: drawn on the
  // device, no copies.
  bool host_randoms = false;
  // ADA: the probability of each augmentation of what D sees (0: none).
  double augment_p = 0;
  // Training across processes (unset: one process): called between each
  // backward pass and its optimiser step to average the gradients over ranks.
  std::function<void(torch::optim::Optimizer&)> average_gradients;
};

// D at a step and alpha as the losses call it: forward under the step's
// precision, scores returned in fp32.
Critic make_critic(Discriminator& discriminator, const StepSettings& settings, const c10::Device& device);

// Builds G, D and the EMA copy (an exact copy of G) with their optimisers.
StepModels make_step_models(const StyleGanConfig& config, double lr, torch::Device device);
// G, D and the EMA copy channels-last (the optimisers keep their
// parameters: only the storage changes).
void to_channels_last(StepModels& models);

// One D step and one G step on `real` (already on the device). `rng` draws
// the mixing coin and crossover; latents come from torch's generator. Sets
// the process's fp32 math for the step's precision (apply_float32_math).
// Nothing in it waits for the device.
StepStats train_step(StepModels& models, const torch::Tensor& real, const StepSettings& settings, std::mt19937_64& rng);

}  // namespace sg::stylegan
