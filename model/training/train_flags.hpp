#pragma once
// The rules between sg_train's flags, as a library the program and the
// tests call: which flags belong to which architecture or need --augment,
// what StyleGAN2 takes by default (its train.py: logistic loss with R1,
// lr 0.002), and sizes that cannot make a schedule. A broken rule is a
// std::invalid_argument naming the flag.
#include <set>
#include <string>

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
  // The flags given on the command line, by their first name ("--init_size").
  std::set<std::string> given;
  bool was_given(const std::string& flag) const { return given.count(flag) > 0; }
};

// Settles `o` from the choices (it already holds the plain numeric flags).
void apply_train_flags(const TrainFlagChoices& choices, TrainOptions& o);

}  // namespace sg
