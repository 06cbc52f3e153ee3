#pragma once
// sg_test's pictures from a checkpoint of any architecture: sample.png,
// sample_mixing.png and (with interpolate) interpolation.gif.
#include <string>
#include <vector>

#include "model/core/checkpoint_drawer.hpp"

namespace sg {

// Opens `checkpoint` with `open` (the GAN factory's open_checkpoint) and
// writes the pictures under `out_dir`. A size the checkpoint was not
// trained to is an InputError naming the sizes it can draw; a diverged
// model (NonFiniteOutput) one naming the checkpoint, with nothing written.
// options.class_name: one class's pictures (its mixing grid within the
// class), or "all": each class's under out_dir/<class>/ (see
// write_samples_per_class); a name the checkpoint lacks, or any class of an
// unconditional one, is an InputError naming its classes.
SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options,
                           const CheckpointOpener& open);

struct ClassSamples {
  std::string class_name;
  SampleResult result;
};
// Every class's pictures, each under out_dir/<class name>/.
std::vector<ClassSamples> write_samples_per_class(const std::string& checkpoint, const std::string& out_dir,
                                                  const SampleOptions& options, const CheckpointOpener& open);

// The index of `class_name` among a conditional checkpoint's classes;
// InputError naming them otherwise.
int class_index_of(const std::string& checkpoint, const std::vector<std::string>& classes, const std::string& class_name);

}  // namespace sg
