#pragma once
// Synthetic data: N images from a checkpoint's average generator, each its
// own file (or LMDB record), numbered, with a manifest from which any one
// can be drawn again: image i's latent and noise come from a CPU generator
// seeded with synthetic_image_seed(seed, i), so an image depends on the
// checkpoint, the seed, the truncation and its index only (not on the
// batch, the device's schedule or where an interrupted export restarted).
#include <cstdint>
#include <string>

#include "model/core/checkpoint_drawer.hpp"

namespace sg {

enum class ExportFormat { Png, Lmdb };

struct ExportOptions {
  int size = 0;             // resolution (StyleGAN: one it trained; StyleGAN2: its size; 0: the largest)
  int64_t n = 0;            // images 0 .. n-1
  int64_t start_index = 0;  // PNG: write from this index on (restart after an interruption)
  ExportFormat format = ExportFormat::Png;
  double truncation = 1.0;  // psi around the mean style (1: none; the mean from `seed`)
  uint64_t seed = 0;
  int batch = 32;           // images per forward pass
  std::string device;       // "", "cpu", "cuda"
  bool show_progress = false;
  // A conditional checkpoint: "" or "all" (image i of class i mod classes),
  // or one class's name (every image of it). Each image's class goes into
  // the manifest and, in an LMDB, its labels database.
  std::string class_name;
};

struct ExportResult {
  std::string out;          // the folder or the LMDB
  std::string manifest;     // manifest.json beside the images (LMDB: inside its folder)
  int64_t written = 0;
  double seconds = 0;
  std::string note;         // what a reference checkpoint lacked ("" for ours)
};

// Writes out/NNNNNN.png (6 digits or more) and out/manifest.json +
// manifest.csv; with ExportFormat::Lmdb an LMDB in our layout at `out`
// holding every size from 8 up to `size` (box-filtered halvings, as
// sg_prep's pyramid) in its training split, written whole or not at all.
// Streams: at most one batch of images in memory. `open` draws the
// checkpoint (the GAN factory's open_checkpoint).
ExportResult export_synthetic(const std::string& checkpoint, const std::string& out, const ExportOptions& options,
                              const CheckpointOpener& open);

}  // namespace sg
