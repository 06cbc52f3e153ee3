#pragma once
// sg_test and sg_eval on a StyleGAN2 checkpoint: samples, the style-mixing
// grid (the source's coarse styles, 4x4 and 8x8, into each destination),
// the W-space interpolation, and batches of images for the metrics.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/evaluation/sampler.hpp"
#include "model/stylegan2/networks.hpp"

namespace sg::stylegan2 {

// The checkpoint's g_ema (or with raw its g) on `device`, in eval mode.
// A size other than the one it was trained at is an InputError naming it
// (size 0: its own).
Generator load_for_drawing(const std::string& checkpoint, int size, torch::Device device, bool raw = false,
                           std::string* note = nullptr);

// Mean w over 10 x 1024 latents from rng.
torch::Tensor mean_latent(Generator& generator, torch::Generator& rng, torch::Device device);

// W+ entries taken from the source in the mixing grid: those of 4x4 and
// 8x8 (two at 8x8, whose model has four).
int coarse_entries(const Config& config);

SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options);

}  // namespace sg::stylegan2
