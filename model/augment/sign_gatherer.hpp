#pragma once
// ADA's measure between adjustments: each iteration's sum of sign(D(real))
// stays on the device until an adjustment is due, so that the host reads it
// once per --ada_every images, not once per iteration.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "model/augment/adaptive.hpp"

namespace sg {

class SignGatherer {
 public:
  // Across processes: sums tensors over every rank in place (unset: one process).
  using SumOverRanks = std::function<void(std::vector<torch::Tensor>&)>;

  // Adds a batch's sum of signs (on the device) over `images` judged; hands
  // everything to the controller once `settings.every` images have gathered.
  void add(const torch::Tensor& signs, int64_t images, AugmentState& state, const AugmentSettings& settings,
           const SumOverRanks& sum_over_ranks);

  // Hands what has gathered to the controller now (before a checkpoint).
  void flush(AugmentState& state, const AugmentSettings& settings, const SumOverRanks& sum_over_ranks);

 private:
  torch::Tensor signs_;
  int64_t images_ = 0;
};

}  // namespace sg
