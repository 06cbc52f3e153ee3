#include "model/core/ema.hpp"

#include <torch/torch.h>

#include <cmath>
#include <map>

namespace sg {

std::vector<double> block_ema_decays(const EmaOptions& options, const std::vector<uint64_t>& block_images,
                                     int64_t batch) {
  std::vector<double> decays;
  decays.reserve(block_images.size());
  for (uint64_t images : block_images) {
    if (images == 0) {
      decays.push_back(1.0);
    } else if (options.rampup <= 0) {
      decays.push_back(options.decay);
    } else {
      const double half_life = options.rampup * static_cast<double>(images);
      decays.push_back(std::min(options.decay, std::pow(0.5, static_cast<double>(batch) / half_life)));
    }
  }
  return decays;
}

int generator_block_of(const std::string& name) {
  if (name.rfind("style.", 0) == 0) return 0;
  for (const char* prefix : {"generator.progression.", "generator.to_rgb."}) {
    const size_t length = std::char_traits<char>::length(prefix);
    if (name.compare(0, length, prefix) != 0) continue;
    size_t end = length;
    int block = 0;
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end])) && block < 1000)
      block = block * 10 + (name[end++] - '0');
    if (end == length || end >= name.size() || name[end] != '.') return -1;
    return block;
  }
  return -1;
}

void update_ema_by_block(torch::nn::Module& ema, const torch::nn::Module& model, const std::vector<double>& decays) {
  torch::NoGradGuard no_grad;
  auto target = ema.named_parameters();
  // Blocks sharing a decay share the multi-tensor calls (after the ramp-up, all of them).
  std::map<double, std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>>> by_decay;
  for (const auto& item : model.named_parameters()) {
    const int block = generator_block_of(item.key());
    TORCH_CHECK(block >= 0 && block < static_cast<int>(decays.size()), "EMA: no decay for parameter ", item.key());
    const double decay = decays[static_cast<size_t>(block)];
    if (decay >= 1.0) continue;
    torch::Tensor* average = target.find(item.key());
    TORCH_CHECK(average != nullptr, "EMA model lacks parameter ", item.key());
    auto& [averages, sources] = by_decay[decay];
    averages.push_back(*average);
    sources.push_back(item.value().detach());
  }
  for (auto& [decay, lists] : by_decay) {
    auto& [averages, sources] = lists;
    if (decay <= 0) {
      for (size_t i = 0; i < averages.size(); ++i) averages[i].copy_(sources[i]);
      continue;
    }
    at::_foreach_mul_(averages, decay);
    at::_foreach_add_(averages, sources, 1 - decay);
  }
}

void start_ema(torch::nn::Module& ema, const torch::nn::Module& model) {
  update_ema(ema, model, 0.0);
  ema.eval();
  set_requires_grad(ema, false);
}

void set_requires_grad(torch::nn::Module& module, bool flag) {
  for (auto& p : module.parameters()) p.requires_grad_(flag);
}

void drop_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) p.mutable_grad().reset();
}

void update_ema(torch::nn::Module& ema, const torch::nn::Module& model, double decay) {
  torch::NoGradGuard no_grad;
  auto target = ema.named_parameters();
  std::vector<torch::Tensor> averages, sources;
  for (const auto& item : model.named_parameters()) {
    torch::Tensor* p = target.find(item.key());
    TORCH_CHECK(p != nullptr, "EMA model lacks parameter ", item.key());
    averages.push_back(*p);
    sources.push_back(item.value().detach());
  }
  if (decay == 0) {
    // An exact copy, whatever the average held (0 * inf would not be 0).
    for (size_t i = 0; i < averages.size(); ++i) averages[i].copy_(sources[i]);
    return;
  }
  // The reference's mul_(decay).add_(1 - decay, p), as two multi-tensor
  // calls (one kernel launch each on CUDA) rather than one or two per parameter.
  at::_foreach_mul_(averages, decay);
  at::_foreach_add_(averages, sources, 1 - decay);
}

}  // namespace sg
