#pragma once
// sg_train's settings, as a library the program, the trainer
// and the tests call: which flags belong to which architecture or need
// --augment, what StyleGAN2 takes by default (its train.py: logistic loss
// with R1, lr 0.002), and the settings against the dataset (its sizes,
// channels and mirroring; batches that split over the ranks). A broken rule
// is a std::invalid_argument naming the flag (InputError naming the LMDB
// for a size it lacks).
#include <set>
#include <string>

#include "datasets/lmdb_reader.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/trainer.hpp"

namespace sg {

// What sg_train's flags choose beyond TrainOptions' own fields.
struct TrainFlagChoices {
  std::string arch = "stylegan";
  std::string loss = "wgan-gp";
  std::string precision;  // "": the device's default
  std::string ema = "per-block";
  int size = 0;           // --size (StyleGAN2)
  double augment_p = 0;   // --augment_p, when given
  bool no_mirror = false;
  std::string metrics;    // --metrics swd,fid,kid,pr ("": SWD alone)
  std::string metrics_cache;  // --cache ("": the default folder)
  bool no_metrics_cache = false;
  // The flags given on the command line, by their first name ("--init_size").
  std::set<std::string> given;
  bool was_given(const std::string& flag) const { return given.count(flag) > 0; }
};

// Settles `o` from the choices (it already holds the plain numeric flags).
void apply_train_flags(const TrainFlagChoices& choices, TrainOptions& o);

// `given` settled against the dataset: --max_size from the LMDB, every size
// of the schedule present, StyleGAN2's one size (trained at alpha 1,
// 800,000 iterations unless --max_iter), the image channels and mirroring
// as the dataset has them; every stage's batch splitting evenly over
// `world_size` ranks.
TrainOptions settle_against_dataset(const TrainOptions& given, const LmdbReader& reader, int world_size);

// A fresh run's position: the schedule's first stage, no block trained.
TrainPosition initial_position(const TrainOptions& o);

// Where a run resumed from a file without a schedule position (a reference
// checkpoint) starts: by default the stage after the largest size it
// trained (as its train_step-N name means), with a fade-in when that block
// is new, at alpha 1 when it was trained; --init_size chooses. Sets
// o.schedule.init_size and says so in `note`.
TrainPosition position_after_reference(TrainOptions& o, const LoadReport& loaded, std::string* note);

// The settings as one line of text ("arch=stylegan lmdb=... seed=0 ..."),
// stored in every checkpoint.
std::string describe_settings(const TrainOptions& o);

// What the GAN factory builds for these settings.
GanSpec gan_spec(const TrainOptions& o);

}  // namespace sg
