#pragma once
// A module's parameters and buffers as PyTorch's state_dict() lists them.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace sg {

// (name, tensor) in PyTorch's state_dict order: each module's own
// parameters, then its own buffers, then its children, depth first.
std::vector<std::pair<std::string, torch::Tensor>> ordered_state(const torch::nn::Module& module);

}  // namespace sg
