#pragma once
// Drawing from a StyleGAN2 checkpoint: samples, the style-mixing grid (the
// source's coarse styles, 4x4 and 8x8, into each destination), the W-space
// interpolation, and batches of images for the metrics and the export,
// through CheckpointDrawer.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "model/core/checkpoint_drawer.hpp"
#include "model/stylegan2/networks.hpp"

namespace sg::stylegan2 {

// The checkpoint's g_ema (or with raw its g) on `device`, in eval mode.
// A size other than the one it was trained at is an InputError naming it
// (size 0: its own).
Generator load_for_drawing(const std::string& checkpoint, int size, torch::Device device, bool raw = false,
                           std::string* note = nullptr);

// The classes of images first .. first+count-1 a conditional generator
// draws: all `class_index`, or (-1) index mod classes; undefined when
// unconditional.
torch::Tensor drawing_labels(const Config& config, int64_t count, int class_index, torch::Device device,
                             int64_t first = 0);

// Mean w over 10 x 1024 latents from rng (conditional: of class_index, or
// of the classes in turn).
torch::Tensor mean_latent(Generator& generator, torch::Generator& rng, torch::Device device, int class_index = -1);

// W+ entries taken from the source in the mixing grid: those of 4x4 and
// 8x8 (two at 8x8, whose model has four).
int coarse_entries(const Config& config);

// `count` images of latents and noise from `rng` (CPU) as uint8 [n, c, s, s],
// truncated towards mean_w by psi when mean_w is defined.
torch::Tensor draw_uint8(Generator& generator, int64_t count, torch::Generator& rng, torch::Device device,
                         const torch::Tensor& mean_w = {}, double psi = 1.0, int class_index = -1);

// The checkpoint as a CheckpointDrawer (size 0 or its own size).
std::unique_ptr<CheckpointDrawer> open_for_drawing(const std::string& checkpoint, const DrawRequest& request);

}  // namespace sg::stylegan2
