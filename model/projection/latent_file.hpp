#pragma once
// Projected latents on disk: a torch.save file (Python's torch.load reads
// it) holding what a generator needs to draw the images again —
//   {"w_plus": float [n, rows, style_dim], "noise": [float [n, 1, s, s]...],
//    "architecture": "stylegan"|"stylegan2", "size": int, "space": "w"|"w+",
//    "loss": "lpips"|"mse+ms-ssim", "checkpoint": str, "targets": [str...],
//    "format": "sg-latents", "format_version": 1}
// sg_project writes it; sg_test --latents draws from it.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/core/checkpoint_drawer.hpp"

namespace sg {

struct LatentFile {
  torch::Tensor w_plus;              // [n, rows, style_dim]
  std::vector<torch::Tensor> noise;  // per noise map: [n, 1, s, s]
  Architecture architecture = Architecture::StyleGan2;
  int size = 0;
  bool w_plus_space = true;          // false: one w repeated over the rows
  std::string loss, checkpoint;
  std::vector<std::string> targets;  // what each row was projected from
};

// Written atomically. Throws OutputError naming the file.
void write_latent_file(const std::string& path, const LatentFile& latents);
// Throws InputError naming the file when it is no latent file of ours or
// its tensors disagree in count or shape.
LatentFile read_latent_file(const std::string& path);

// The images of every latent ([n, c, s, s] in [-1, 1], CPU), drawn by
// `generator`. Throws InputError naming `path` when the latents were made
// for another architecture, size or W+ shape.
torch::Tensor draw_latents(CheckpointDrawer& generator, const LatentFile& latents, const std::string& path);

// sg_test --latents: the checkpoint at `size` draws every latent of the
// file as latent_NNNNN.png under `out_dir` and latents.png, a readable grid.
struct LatentDrawing {
  int64_t images = 0;
  std::string grid;
};
LatentDrawing write_latent_images(const std::string& checkpoint, const std::string& latents_path,
                                  const std::string& out_dir, int size, const std::string& device,
                                  const CheckpointOpener& open);

}  // namespace sg
