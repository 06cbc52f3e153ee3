#include "model/evaluation/samples.hpp"

#include <stdexcept>

#include "common/errors.hpp"

namespace sg {

SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options,
                           const CheckpointOpener& open) {
  if (options.interpolate == 1) throw std::invalid_argument("--interpolate 1: a walk needs at least 2 latents (0: none)");
  try {
    return open(checkpoint, {options.size, options.device, false})->write_samples(out_dir, options);
  } catch (const NonFiniteOutput& e) {
    throw InputError(checkpoint, std::string(e.what()) + "; no pictures written");
  }
}

}  // namespace sg
