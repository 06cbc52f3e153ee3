#pragma once
// sg_test's pictures from a checkpoint of any architecture: sample.png,
// sample_mixing.png and (with interpolate) interpolation.gif.
#include <string>

#include "model/core/checkpoint_drawer.hpp"

namespace sg {

// Opens `checkpoint` with `open` (the GAN factory's open_checkpoint) and
// writes the pictures under `out_dir`. A size the checkpoint was not
// trained to is an InputError naming the sizes it can draw; a diverged
// model (NonFiniteOutput) one naming the checkpoint, with nothing written.
SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options,
                           const CheckpointOpener& open);

}  // namespace sg
