#include "model/core/adam_step.hpp"

#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace sg {

namespace {

// The optimiser's state is keyed by the parameter's TensorImpl: its printed
// address in LibTorch 1.x, the pointer itself in 2.x.
template <typename StateMap>
typename StateMap::key_type state_key(const torch::Tensor& p) {
  void* impl = p.unsafeGetTensorImpl();
  if constexpr (std::is_same_v<typename StateMap::key_type, std::string>) {
    std::ostringstream printed;
    printed << static_cast<c10::TensorImpl*>(impl);
    return printed.str();
  } else {
    return impl;
  }
}

template <typename StateMap>
torch::optim::AdamParamState& adam_state(StateMap& states, const torch::Tensor& p) {
  auto key = state_key<StateMap>(p);
  auto found = states.find(key);
  if (found == states.end()) {
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(0);
    state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    found = states.emplace(std::move(key), std::move(state)).first;
  }
  return static_cast<torch::optim::AdamParamState&>(*found->second);
}

}  // namespace

torch::optim::AdamParamState* find_adam_state(torch::optim::Adam& optimizer, const at::Tensor& p) {
  auto& states = optimizer.state();
  auto found = states.find(state_key<std::decay_t<decltype(states)>>(p));
  return found == states.end() ? nullptr : static_cast<torch::optim::AdamParamState*>(found->second.get());
}

torch::optim::AdamParamState& adam_state_of(torch::optim::Adam& optimizer, const at::Tensor& p) {
  return adam_state(optimizer.state(), p);
}

void multi_tensor_adam_step(torch::optim::Adam& optimizer) {
  torch::NoGradGuard no_grad;
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (options.amsgrad()) throw std::invalid_argument("multi_tensor_adam_step: amsgrad is not supported");
    const auto [beta1, beta2] = options.betas();
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
    // Per parameter: parameters skipped by earlier steps count fewer steps.
    std::vector<at::Scalar> root_bias_correction2, negative_step_size;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "multi_tensor_adam_step: sparse gradients are not supported");
      auto& state = adam_state(states, p);
      state.step(state.step() + 1);
      const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(state.step()));
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(state.exp_avg());
      exp_avg_sqs.push_back(state.exp_avg_sq());
      root_bias_correction2.emplace_back(std::sqrt(bias_correction2));
      negative_step_size.emplace_back(-options.lr() / bias_correction1);
    }
    if (params.empty()) continue;
    if (options.weight_decay() != 0) grads = at::_foreach_add(grads, params, options.weight_decay());
    at::_foreach_mul_(exp_avgs, beta1);
    at::_foreach_add_(exp_avgs, grads, 1 - beta1);
    at::_foreach_mul_(exp_avg_sqs, beta2);
    at::_foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2);
    auto denominators = at::_foreach_sqrt(exp_avg_sqs);
    at::_foreach_div_(denominators, root_bias_correction2);
    at::_foreach_add_(denominators, options.eps());
    at::_foreach_addcdiv_(params, exp_avgs, denominators, negative_step_size);
  }
}

}  // namespace sg
