#pragma once
// Drawing from a StyleGAN checkpoint: its EMA (or raw) generator at a size
// it was trained to, the mean style for truncation, the sample and
// style-mixing grids and the W-space walk of sg_test, and the drawers the
// evaluation and the export call through CheckpointDrawer.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/core/checkpoint_drawer.hpp"
#include "model/stylegan/checkpoint.hpp"
#include "model/stylegan/networks.hpp"

namespace sg::stylegan {

// Mean of the mapping network over 10 x 1024 latents (as generate.py).
torch::Tensor mean_style(StyledGenerator& generator, torch::Generator& rng, torch::Device device);

// n images from latents z (one noise map per block, shared by all images).
torch::Tensor generate(StyledGenerator& generator, const torch::Tensor& z, int step, double alpha,
                       const torch::Tensor& mean_w, double psi, const std::vector<torch::Tensor>& noise);

// (rows + 1) x (cols + 1) images, row-major: a black corner, the sources
// along the top, the destinations down the left, and each cell the
// destination with the source's coarse styles (blocks 0-1: 4x4 and 8x8).
std::vector<torch::Tensor> mixing_cells(StyledGenerator& generator, const torch::Tensor& source_z,
                                        const torch::Tensor& destination_z, int step, double alpha,
                                        const torch::Tensor& mean_w, double psi,
                                        const std::vector<torch::Tensor>& noise);

// n images as to_uint8_images gives them, drawn `batch` at a time; latents
// and noise maps come from `rng` (a CPU generator), so the result depends
// on its seed only. With mean_w defined, truncation psi around it.
// `on_batch(done)` reports progress.
torch::Tensor generate_images(StyledGenerator& generator, int64_t n, int step, double alpha, torch::Generator& rng,
                              torch::Device device, int batch, const torch::Tensor& mean_w = {}, double psi = 1.0,
                              const std::function<void(int64_t)>& on_batch = {});

// The checkpoint's EMA generator (g_running) on `device`, ready to draw.
// With `raw`, the trained generator (`generator`) instead of its average.
StyledGenerator load_sampling_generator(const std::string& checkpoint, const CheckpointMeta& meta, torch::Device device,
                                        bool raw = false);

// Where a checkpoint (its meta) can draw `size`: its step and fade-in. A
// size it was not trained to is an InputError naming the sizes it can draw.
struct DrawPlan {
  int step = 0;
  double alpha = 1.0;
};
DrawPlan plan_drawing(const std::string& checkpoint, const CheckpointMeta& meta, int size);

// The checkpoint as a CheckpointDrawer (size 0: the largest it trained).
std::unique_ptr<CheckpointDrawer> open_for_drawing(const std::string& checkpoint, const DrawRequest& request);

}  // namespace sg::stylegan
