#include "model/augment/sign_gatherer.hpp"

namespace sg {

void SignGatherer::add(const torch::Tensor& signs, int64_t images, AugmentState& state,
                       const AugmentSettings& settings, const SumOverRanks& sum_over_ranks) {
  signs_ = signs_.defined() ? signs_ + signs : signs;
  images_ += images;
  if (state.images + images_ >= settings.every) flush(state, settings, sum_over_ranks);
}

void SignGatherer::flush(AugmentState& state, const AugmentSettings& settings, const SumOverRanks& sum_over_ranks) {
  if (!signs_.defined()) return;
  if (sum_over_ranks) {
    std::vector<torch::Tensor> sums{signs_.to(torch::kDouble)};
    sum_over_ranks(sums);
    signs_ = sums[0];
  }
  observe_real_signs(state, signs_.item<double>(), images_, settings);
  signs_ = torch::Tensor();
  images_ = 0;
}

}  // namespace sg
