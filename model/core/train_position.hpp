#pragma once
// Where a training run stands, as every architecture's checkpoint stores it
// and the trainer continues from it, and what a load restored.
#include <cstdint>
#include <string>
#include <vector>

#include "model/augment/adaptive.hpp"
#include "model/core/schedule.hpp"

namespace sg {

struct TrainPosition {
  int64_t iteration = 0;
  uint64_t images_seen = 0;
  ScheduleState schedule;
  double alpha = 1.0;
  uint64_t data_epoch = 0, data_batch = 0;  // the next batch of the current stream
  std::vector<uint64_t> block_images;       // images each generator block has trained on (the EMA's ramp-up)
  AugmentState augment;                     // ADA's p and what its next adjustment has gathered
  // The card digest of the LMDB trained on (datasets/dataset_card.hpp), so
  // that what a checkpoint learnt from can be traced; "" when unknown.
  std::string data_card;
};

enum class CheckpointSource {
  Ours,
  ReferenceTraining,   // the reference's train_step-N.model: generator, discriminator, g_running, both optimisers
  ReferenceGenerator,  // the reference's NNNNNN.model: a bare g_running state dict
};

// What a load restored. What it did not comes from the flags.
struct LoadReport {
  CheckpointSource source = CheckpointSource::Ours;
  bool position = false;       // schedule, data order, RNG states, EMA ages
  bool discriminator = false;
  bool optimizers = false;
  int trained_step = 0;        // the largest resolution trained, 4 * 2^step
  std::string note;            // for a reference file: what it held, in one line
};

}  // namespace sg
