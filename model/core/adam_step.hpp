#pragma once
// Adam's update as torch::optim::Adam::step computes it, over whole lists of
// tensors at once (ATen's _foreach operators): a handful of calls per
// parameter group instead of eight per parameter. On CUDA each is one
// multi-tensor kernel launch; the reference's step is some 400 launches at
// 8x8, where the host is the bottleneck. On a CPU the results are identical
// to torch::optim::Adam's, bit for bit.
namespace torch::optim {
class Adam;
class AdamParamState;
}  // namespace torch::optim
namespace at {
class Tensor;
}

namespace sg {

// One Adam step over every parameter with a gradient, reading and writing
// the optimiser's own state (step count, exp_avg, exp_avg_sq), so that its
// save/load and a later torch::optim::Adam::step carry on from it. Throws
// std::invalid_argument for amsgrad groups.
void multi_tensor_adam_step(torch::optim::Adam& optimizer);

// The optimiser's state of parameter p: nullptr before p's first step.
torch::optim::AdamParamState* find_adam_state(torch::optim::Adam& optimizer, const at::Tensor& p);
// The same, created (step 0, zero moments) when p has none yet.
torch::optim::AdamParamState& adam_state_of(torch::optim::Adam& optimizer, const at::Tensor& p);

}  // namespace sg
