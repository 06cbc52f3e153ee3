#pragma once
// The one place that names both architectures: a GAN to train from its
// settings, and a checkpoint opened to draw from, whichever wrote it. The
// trainer, the throughput benchmark and the programs come here; the
// evaluation is handed open_checkpoint and never names an architecture.
#include <memory>
#include <string>

#include "model/core/checkpoint_drawer.hpp"
#include "model/core/ema.hpp"
#include "model/core/trainable_gan.hpp"
#include "model/devices/precision.hpp"
#include "model/stylegan/networks.hpp"
#include "model/stylegan2/train_step.hpp"

namespace sg {

struct GanSpec {
  Architecture arch = Architecture::StyleGan;
  // Widths, style size, mapping depth and image channels of either
  // architecture; max_size is StyleGAN's largest size, StyleGAN2's one size.
  stylegan::StyleGanConfig model;
  int channel_multiplier = 2;  // StyleGAN2
  int d_channels = 0;          // StyleGAN2: the discriminator's width cap (0: model.max_channels)
  double lr = 0.001;
  int batch = 32;              // StyleGAN2 records it in its checkpoints
  GanLoss loss = GanLoss::WganGp;
  double r1_gamma = 10.0;      // with GanLoss::R1
  bool mixing = false;         // style mixing with probability 0.9
  stylegan2::Regularization regularization;  // StyleGAN2's lazy intervals and path length (its r1 from r1_gamma)
  EmaOptions ema;              // the EMA generator's ramp-up and cap (StyleGAN: per block)
  Precision precision = Precision::Fp32;
  // Conditional (StyleGAN2 only): the classes, and the weights their
  // generator's classes are drawn with; empty: unconditional.
  std::vector<std::string> class_names;
  std::vector<double> class_weights;
};

// G, D, the average generator and the optimisers on `device` (torch's seed
// set by the caller).
std::unique_ptr<TrainableGan> make_gan(const GanSpec& spec, torch::Device device);

// A checkpoint of either architecture, ready to draw (a CheckpointOpener).
std::unique_ptr<CheckpointDrawer> open_checkpoint(const std::string& checkpoint, const DrawRequest& request);

}  // namespace sg
