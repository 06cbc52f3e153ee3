#pragma once
// SWD during training (sg_train --eval-every K): the EMA generator's images
// against a fixed sample of the training LMDB at the current resolution.
// The same latents and noise every time, so the curve shows the model and
// not the draw; the real sample's patch descriptors are kept per size.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "model/core/drawing.hpp"
#include "model/evaluation/swd.hpp"

namespace sg {

class LmdbReader;

class SwdMonitor {
 public:
  SwdMonitor(const LmdbReader& reader, int images, uint64_t seed);
  // A generator at `size` (TrainableGan::average_drawer): `draw(count, rng)`
  // gives count uint8 images with latents from rng, the same generator
  // state on every call. nullopt below the metric's smallest resolution (16).
  std::optional<SwdResult> measure(const SeededDrawer& draw, int size);

 private:
  const LmdbReader& reader_;
  int images_;
  uint64_t seed_;
  SwdOptions options_;
  std::map<int, std::vector<torch::Tensor>> real_;  // descriptors per size
};

}  // namespace sg
