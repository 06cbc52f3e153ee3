#pragma once
// Training checkpoints, interchangeable with the reference trainer's.
//
// Written as a torch.save-compatible pickle that Python's plain torch.load
// reads: `generator`, `discriminator` and `g_running` state dicts under the
// reference's names, holding all nine blocks the reference always builds
// (blocks past --max_size at their initial values), and `g_optimizer` /
// `d_optimizer` as PyTorch Adam state dicts numbered as the reference's
// optimisers number their parameters (the mapping group with its `mult`);
// beside them what exact resume needs: the schedule position, the data
// order, every RNG state, the EMA's per-block ages and the configuration.
// Written atomically (temp file, fsync, rename, fsync of the folder).
//
// Read: ours (this format and the one before it), the reference's
// train_step-N.model (the five state dicts) and its NNNNNN.model
// (g_running alone), through our own unpickler (model/core/torch_file.hpp).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/core/train_position.hpp"
#include "model/stylegan/train_step.hpp"

namespace sg::stylegan {

struct CheckpointMeta {
  StyleGanConfig model;
  std::string train_config;  // the trainer's flags, as text
  // Filled by read_checkpoint_meta: where training stood.
  int trained_step = 0;      // the largest resolution trained, 4 * 2^step
  double alpha = 1.0;        // its fade-in
  int init_size = 8;
  CheckpointSource source = CheckpointSource::Ours;
  // A reference file: what it is and what it lacks, in one line ("" for ours).
  std::string note;
};

// Writes the same checkpoint under each of `paths` (e.g. NNNNNN.ckpt and latest.ckpt).
void save_checkpoint(const std::vector<std::string>& paths, StepModels& models, const TrainPosition& position,
                     const std::mt19937_64& rng, const CheckpointMeta& meta);

// Loads into models built from a matching configuration whatever the file
// holds. Throws InputError naming the file and, for a mismatch, the key and
// both shapes; for a file that is no StyleGAN checkpoint, what it holds.
LoadReport load_checkpoint(const std::string& path, StepModels& models, TrainPosition& position, std::mt19937_64& rng);

// The model configuration and where training stood, to build models before
// loading: from our metadata, or inferred from a reference file's tensors.
CheckpointMeta read_checkpoint_meta(const std::string& path);

// Loads just the EMA generator (g_running) for sampling; with `raw`, the
// trained generator instead (absent from a reference NNNNNN.model).
void load_ema_generator(const std::string& path, StyledGenerator& generator, bool raw = false);

}  // namespace sg::stylegan
