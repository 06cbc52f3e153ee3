#pragma once
// StyleGAN2 (fixed resolution) behind the trainer's interface.
#include <memory>

#include "model/stylegan2/checkpoint.hpp"
#include "model/stylegan2/train_step.hpp"
#include "model/training/gan.hpp"

namespace sg::stylegan2 {

struct Training {
  Config model;
  SavedTraining saved;  // lr, batch, loss, regularisation, mixing (also the file's args)
};

std::unique_ptr<TrainableGan> make_stylegan2(const Training& training, torch::Device device);

// `count` images of latents and noise from `rng` (CPU) as uint8 [n, c, s, s],
// truncated towards mean_w by psi when mean_w is defined.
torch::Tensor draw_uint8(Generator& generator, int64_t count, torch::Generator& rng, torch::Device device,
                         const torch::Tensor& mean_w = {}, double psi = 1.0);

}  // namespace sg::stylegan2
