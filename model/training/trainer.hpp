#pragma once
// sg_train as a library: StyleGAN (progressive) or StyleGAN2 (fixed size)
// training on a dataset LMDB, with checkpoints, fixed-latent sample grids,
// CSV and TensorBoard logs.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "model/augment/adaptive.hpp"
#include "model/core/ema.hpp"
#include "model/core/schedule.hpp"
#include "model/core/trainable_gan.hpp"
#include "model/devices/precision.hpp"
#include "model/distributed/collectives.hpp"
#include "model/distributed/gradient_sync.hpp"
#include "model/evaluation/feature_evaluation.hpp"
#include "model/stylegan/networks.hpp"
#include "model/stylegan2/train_step.hpp"

namespace sg {

struct TrainOptions {
  std::string lmdb;
  std::string out;                  // run folder
  std::string resume;               // checkpoint to continue from
  // Whether --init_size was given: resuming from a file without a schedule
  // position (a reference checkpoint) otherwise starts at the size after
  // the largest it trained.
  bool init_size_given = false;
  // max_size 0 (the default here): the LMDB's largest size.
  ScheduleConfig schedule = [] {
    ScheduleConfig c;
    c.max_size = 0;
    return c;
  }();
  Architecture arch = Architecture::StyleGan;
  // StyleGAN2: its fixed size is schedule.max_size (0: the LMDB's largest);
  // widths, style size and mapping depth come from `model`.
  int channel_multiplier = 2;
  int d_channels = 0;               // StyleGAN2: the discriminator's width cap (0: model.max_channels)
  stylegan2::Regularization regularization;  // StyleGAN2 (its r1 from r1_gamma)
  stylegan::StyleGanConfig model;   // widths and sizes of either architecture; image_channels taken from the LMDB
  bool mixing = false;
  AugmentSettings augment;          // ADA (--augment): what D sees, augmented with an adaptive p
  EmaOptions ema;                   // the EMA generator's per-block ramp-up (rampup 0: the reference's fixed decay)
  GanLoss loss = GanLoss::WganGp;
  double r1_gamma = 10.0;           // with GanLoss::R1
  int64_t max_iter = 0;             // 0: until the schedule ends (StyleGAN2: 800,000, as its train.py)
  int checkpoint_every = 1000;
  int sample_every = 100;
  int log_every = 10;
  int sample_rows = 5, sample_cols = 10;
  int eval_every = 0;               // SWD against the training data every K iterations (0: never)
  int eval_images = 1000;           // generated and real images per SWD, and generated per feature metric
  bool eval_swd = true;             // --metrics without swd: only the feature metrics
  FeatureMetricOptions feature_metrics;  // FID, KID, PR at the same iterations (--metrics fid,kid,pr)
  uint64_t seed = 0;
  std::string device;               // "", "cpu", "cuda"
  Precision precision = Precision::Fp32;
  bool channels_last = false;       // NHWC weights and batches
  bool mirror = true;               // unless the dataset config turns random_mirror off
  // Class-conditional training (StyleGAN2, an LMDB with labels): the
  // generator's classes drawn as the training split holds them, or with
  // `balance` uniformly.
  bool conditional = false;
  bool balance = false;
  bool show_progress = false;
  const std::atomic<bool>* stop = nullptr;  // set by Ctrl-C / SIGTERM (on any rank: every rank stops at the same iteration)
  // Training across processes (nullptr or a world of one: one process).
  // --batch and the --sched batches stay global, split evenly over ranks;
  // rank 0 alone writes the run folder.
  Collectives* collectives = nullptr;
  int device_index = -1;            // the CUDA device of this process (-1: the current one)
  int loader_threads = 0;           // batch decoding threads (0: all cores; a machine's ranks share them)
  std::function<void(const std::string&)> on_note;  // one-line notices (e.g. what a resumed file lacked)
};

struct TrainResult {
  int64_t iterations = 0;
  uint64_t images_seen = 0;
  int final_size = 0;
  std::string last_checkpoint;
  std::string loss_plot;   // PNG of D and G losses over iterations
  std::string animation;   // GIF of the fixed-latent samples over training
  bool interrupted = false;
  // Across processes: FNV-1a of this rank's G, D, EMA and optimiser state
  // at the end (every rank agreed on it, or train threw DistributedError).
  uint64_t state_digest = 0;
  ReduceStats gradient_reduce;      // what averaging the gradients cost
};

TrainResult train(const TrainOptions& options);

}  // namespace sg
