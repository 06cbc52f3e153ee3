#pragma once
// StyleGAN2 checkpoints in the layout of rosinality's stylegan2-pytorch
// train.py — {'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args', 'ada_aug_p'},
// state dicts under its names, PyTorch Adam state dicts — so that its
// generate.py and train.py read ours and we read its NNNNNN.pt. Ours add
// what an exact resume needs (iteration, data order, path-length mean, RNG
// states) and our model and training configuration.
#include <random>
#include <string>
#include <vector>

#include "model/core/train_position.hpp"
#include "model/stylegan2/train_step.hpp"

namespace sg::stylegan2 {

struct CheckpointInfo {
  Config config;
  std::vector<std::string> class_names;  // a conditional model's classes (config.classes of them)
  std::string train_config;  // our flags, as text ("" in a reference file)
  bool ours = true;
  int64_t iteration = 0;
  std::string note;          // a reference file: what it lacks, in one line
};

// The configuration, from our metadata or inferred from a reference file's
// tensors. InputError for a file that is no StyleGAN2 checkpoint, naming
// what it is (a StyleGAN one: "give no --arch stylegan2").
CheckpointInfo read_checkpoint_info(const std::string& path);

struct SavedTraining {
  std::string train_config;
  std::vector<std::string> class_names;  // conditional: the data's classes, index = label
  double lr = 0.002;
  int batch = 32;
  Loss loss = Loss::LogisticR1;
  Regularization regularization;
  double mixing = 0.9;
};

void save_checkpoint(const std::vector<std::string>& paths, Models& models, const TrainPosition& position,
                     double path_mean, const std::mt19937_64& rng, const SavedTraining& training);

// Everything the file holds into models built from its configuration: ours
// restore the position, the path-length mean and the RNG states as well
// (report.position); a reference file's iteration comes from its name.
LoadReport load_checkpoint(const std::string& path, Models& models, TrainPosition& position, double& path_mean,
                           std::mt19937_64& rng);

// The class names a conditional checkpoint holds (empty: unconditional).
std::vector<std::string> checkpoint_class_names(const std::string& path);

// The average generator (g_ema), or with `raw` the trained one (g).
void load_generator(const std::string& path, Generator& generator, bool raw = false);

}  // namespace sg::stylegan2
