#pragma once
// StyleGAN (progressive growing) behind the trainer's interface.
#include <memory>

#include "model/core/ema.hpp"
#include "model/core/trainable_gan.hpp"
#include "model/devices/precision.hpp"
#include "model/stylegan/networks.hpp"
#include "model/stylegan/train_step.hpp"

namespace sg::stylegan {

struct StyleGanTraining {
  StyleGanConfig model;
  double lr = 0.001;
  GanLoss loss = GanLoss::WganGp;
  double r1_gamma = 10.0;
  bool mixing = false;
  EmaOptions ema;
  Precision precision = Precision::Fp32;
};

// Builds G, D, the EMA and the optimisers on `device` (torch's seed set by
// the caller).
std::unique_ptr<TrainableGan> make_stylegan(const StyleGanTraining& training, torch::Device device);

}  // namespace sg::stylegan
