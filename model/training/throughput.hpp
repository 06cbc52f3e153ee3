#pragma once
// End-to-end training speed, as bench_train reports it: real batches from a
// dataset LMDB (decoded, mirrored, uploaded) through full training
// iterations (D step with its penalty, G step, mixing, EMA) at one
// resolution with --sched batches.
#include <cstdint>
#include <string>

#include "datasets/lmdb_reader.hpp"
#include "model/core/trainable_gan.hpp"
#include "model/devices/op_profile.hpp"
#include "model/devices/precision.hpp"
#include "model/distributed/collectives.hpp"

namespace sg {

struct ThroughputOptions {
  // StyleGAN2: logistic loss with its lazy R1 and path-length steps, timed
  // over whole 16-iteration cycles so that they count at their amortised rate.
  Architecture arch = Architecture::StyleGan;
  int channel_multiplier = 2;  // StyleGAN2
  int width = 512;            // network width cap (the reference: 512)
  int batch = 0;              // 0: the --sched batch of the size
  Precision precision = Precision::Fp32;
  bool channels_last = false;
  bool mixing = true;
  double augment_p = 0;       // ADA at this fixed p (0: none)
  bool synthetic = false;     // one resident batch instead of the LMDB: the model alone
  int warmup_iterations = 5;  // untimed (cuDNN autotuning, allocator growth)
  int min_iterations = 10;
  double min_seconds = 5.0;   // timed until both minimums are reached
  uint64_t seed = 0;
  std::string device;         // "", "cpu", "cuda"
  bool profile_ops = false;   // count the timed iterations' operators (slows them)
  // Across processes (as sg_train under torchrun): the batch is global, split
  // over the ranks, and gradients are averaged before every optimiser step.
  Collectives* collectives = nullptr;
};

struct ThroughputPoint {
  int size = 0, batch = 0;
  int64_t iterations = 0;
  double seconds = 0;
  double images_per_second = 0;
  // The reference model's operations per image and iteration (its forward
  // and backward passes, penalty included), times images/s.
  double reference_gflop_per_image = 0;
  double tflop_per_second = 0;
  // This model's own arithmetic per iteration (convolutions and matrix
  // products, counted over a whole cycle after the timed iterations, so the
  // counting does not slow them) and the rate the timed iterations attained.
  double gflop_per_iteration = 0;
  double gflop_per_second = 0;
  // With profile_ops: every operator of the timed iterations, by host time.
  std::vector<OpProfileEntry> operators;
  int64_t top_level_operators = 0;
  double top_level_host_ms = 0;
  // Across processes: the world's size, the time of the timed iterations
  // spent averaging gradients (flattening, all-reduce, copying back) and the
  // bytes each rank all-reduced per iteration.
  int world = 1;
  double allreduce_seconds = 0;
  double allreduce_bytes_per_iteration = 0;
};

// GFLOP of one reference training iteration per image at `size` (8..256),
// counted on the reference model (issue #7): 13.8, 62, 256, 778, 1,108,
// 1,438. 0 for other sizes.
double reference_training_gflop_per_image(int size);

// Times full iterations at `size`, from the LMDB's records of that size
// (InputError when it has none). The models are fresh (seeded) each call.
ThroughputPoint measure_training_throughput(const LmdbReader& reader, int size, const ThroughputOptions& options);

}  // namespace sg
