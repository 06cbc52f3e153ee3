#pragma once
// sg_project as a library: a checkpoint's generator inverted on one image
// or on every image of an LMDB split, with what a user looks at afterwards —
// the latents (sg_test --latents draws them), the reconstruction, a residual
// map |target - reconstruction|, a progress GIF, and for a split a CSV of
// per-image reconstruction errors (an anomaly score: what a generator of
// healthy scans cannot reproduce).
#include <cstdint>
#include <string>

#include "datasets/lmdb_keys.hpp"
#include "model/core/checkpoint_drawer.hpp"
#include "model/projection/projector.hpp"

namespace sg {

struct ProjectRequest {
  std::string checkpoint;
  // A PNG file, or an LMDB folder with an optional ":train|validate|test".
  std::string target;
  std::string out;
  std::string vgg;           // vgg16.pt for LPIPS; "" for MSE + MS-SSIM
  std::string device;        // "", "cpu", "cuda"
  bool raw = false;          // the trained generator instead of its average
  int64_t limit = 0;         // an LMDB split: at most this many images (0: all)
  ProjectionOptions options;
  bool show_progress = false;
};

struct ProjectReport {
  int64_t images = 0;
  double seconds = 0;
  std::string latents, csv, first_panel;  // written files ("" when none)
  std::string loss_name;
  // The single image's errors (or the split's means), in [0, 1] intensity units.
  double mse = 0, mae = 0, ssim = 0, loss = 0;
  std::string note;          // what a reference checkpoint lacked
};

// Where the target is: an image file, or an LMDB and its split.
struct ProjectTarget {
  bool lmdb = false;
  std::string path;
  Split split = TRAIN;
};
// Throws InputError naming the target when it is none of these.
ProjectTarget parse_project_target(const std::string& target);

// Reads a PNG target as the generator needs it ([1, c, s, s] in [-1, 1]).
// InputError naming the file when it is no PNG, or its size or channels
// are not the generator's.
torch::Tensor read_target_png(const std::string& path, int size, int channels);

// The residual picture: |target - reconstruction| through a black-red-
// yellow-white scale, white at half the intensity range; RGB.
Image8 residual_map(const torch::Tensor& target, const torch::Tensor& reconstruction);

ProjectReport run_projection(const ProjectRequest& request, const CheckpointOpener& open);

}  // namespace sg
