#include "model/core/trainable_gan.hpp"

#include <stdexcept>

#include "model/core/adam_step.hpp"
#include "model/core/torch_file.hpp"

namespace sg {

const char* architecture_name(Architecture arch) { return arch == Architecture::StyleGan2 ? "stylegan2" : "stylegan"; }

Architecture parse_architecture(const std::string& name) {
  if (name == "stylegan") return Architecture::StyleGan;
  if (name == "stylegan2") return Architecture::StyleGan2;
  throw std::invalid_argument("unknown architecture \"" + name + "\": stylegan or stylegan2");
}

Architecture checkpoint_architecture(const std::string& path) {
  const TorchFile file = read_torch_file(path);
  return file.root->is(PyValue::Kind::Dict) && file.root->find("g_ema") ? Architecture::StyleGan2
                                                                         : Architecture::StyleGan;
}

std::vector<torch::Tensor> module_state_tensors(const std::vector<torch::nn::Module*>& modules) {
  std::vector<torch::Tensor> tensors;
  for (torch::nn::Module* module : modules) {
    for (const torch::Tensor& p : module->parameters()) tensors.push_back(p);
    for (const torch::Tensor& b : module->buffers()) tensors.push_back(b);
  }
  return tensors;
}

torch::Tensor real_sign_sum(const torch::Tensor& real_scores, const torch::Tensor& fake_score_mean, bool wgan) {
  return (wgan ? real_scores - fake_score_mean : real_scores).sign().sum();
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
}

std::vector<torch::Tensor> adam_state_tensors(torch::optim::Adam& optimizer) {
  std::vector<torch::Tensor> tensors;
  for (const auto& group : optimizer.param_groups())
    for (const torch::Tensor& p : group.params())
      if (const torch::optim::AdamParamState* state = find_adam_state(optimizer, p)) {
        tensors.push_back(torch::tensor(static_cast<int64_t>(state->step())));
        tensors.push_back(state->exp_avg());
        tensors.push_back(state->exp_avg_sq());
      }
  return tensors;
}

}  // namespace sg
