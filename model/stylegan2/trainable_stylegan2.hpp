#pragma once
// StyleGAN2 (fixed resolution) behind the trainer's interface.
#include <memory>

#include "model/core/trainable_gan.hpp"
#include "model/stylegan2/checkpoint.hpp"
#include "model/stylegan2/train_step.hpp"

namespace sg::stylegan2 {

struct Training {
  Config model;
  SavedTraining saved;  // lr, batch, loss, regularisation, mixing (also the file's args)
  Precision precision = Precision::Fp32;  // of the forward passes (a run's choice, not the file's)
  EmaOptions ema{reference_ema_decay(), 0.05};  // g_ema's ramp-up (ramped_ema_decay)
  // Conditional (model.classes > 0): how the generator's classes are drawn.
  std::vector<double> class_weights;
};

std::unique_ptr<TrainableGan> make_stylegan2(const Training& training, torch::Device device);

}  // namespace sg::stylegan2
