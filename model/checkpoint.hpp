#pragma once
// Full training checkpoints: G, D, the EMA generator (under the reference's
// keys generator / discriminator / g_running, parameter names as its state
// dicts), both Adam states, the schedule position, the data order position,
// every RNG state and the configuration. Written atomically (temp file,
// fsync, rename, fsync of the folder) as a torch.save-compatible pickle.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/schedule.hpp"
#include "model/train_step.hpp"

namespace sg {

struct TrainPosition {
  int64_t iteration = 0;
  uint64_t images_seen = 0;
  ScheduleState schedule;
  double alpha = 1.0;
  uint64_t data_epoch = 0, data_batch = 0;  // the next batch of the current stream
};

struct CheckpointMeta {
  StyleGanConfig model;
  std::string train_config;  // the trainer's flags, as text
  // Filled by read_checkpoint_meta: where training stood.
  int trained_step = 0;      // the resolution reached, 4 * 2^step
  double alpha = 1.0;        // its fade-in
  int init_size = 8;
};

// Writes the same checkpoint under each of `paths` (e.g. NNNNNN.ckpt and latest.ckpt).
void save_checkpoint(const std::vector<std::string>& paths, StepModels& models, const TrainPosition& position,
                     const std::mt19937_64& rng, const CheckpointMeta& meta);

// Loads into models built from the same configuration. Throws InputError
// naming the file and, for a mismatch, the key and both shapes.
void load_checkpoint(const std::string& path, StepModels& models, TrainPosition& position, std::mt19937_64& rng);

// Reads only the model configuration (to build models before loading).
CheckpointMeta read_checkpoint_meta(const std::string& path);

// Loads just the EMA generator (g_running) for sampling.
void load_ema_generator(const std::string& path, StyledGenerator& generator);

}  // namespace sg
