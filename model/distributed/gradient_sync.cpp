#include "model/distributed/gradient_sync.hpp"

#include <chrono>

#include "common/hashing.hpp"

namespace sg {

GradientAverager::GradientAverager(Collectives& collectives, int64_t bucket_bytes)
    : collectives_(collectives), bucket_bytes_(bucket_bytes) {}

void GradientAverager::average(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> parameters;
  for (const auto& group : optimizer.param_groups())
    for (const torch::Tensor& p : group.params()) parameters.push_back(p);
  average(parameters);
}

void GradientAverager::average(const std::vector<torch::Tensor>& parameters) {
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  // Consecutive gradients of one dtype and device share a bucket up to
  // bucket_bytes_; every rank has the same gradients defined (the same
  // graph), so the buckets line up.
  std::vector<std::vector<torch::Tensor>> buckets;
  int64_t bucket_size = 0;
  for (const torch::Tensor& p : parameters) {
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    const int64_t bytes = g.numel() * static_cast<int64_t>(g.element_size());
    const bool fits = !buckets.empty() && bucket_size + bytes <= bucket_bytes_ &&
                      buckets.back().front().scalar_type() == g.scalar_type() &&
                      buckets.back().front().device() == g.device();
    if (!fits) {
      buckets.emplace_back();
      bucket_size = 0;
    }
    buckets.back().push_back(g);
    bucket_size += bytes;
  }
  if (buckets.empty()) return;
  std::vector<torch::Tensor> flats;
  for (const auto& bucket : buckets) {
    std::vector<torch::Tensor> pieces;
    for (const torch::Tensor& g : bucket) pieces.push_back(g.reshape({-1}));
    flats.push_back(torch::cat(pieces));
    stats_.bytes += flats.back().numel() * static_cast<int64_t>(flats.back().element_size());
  }
  collectives_.sum(flats);
  const double world = collectives_.size();
  for (size_t b = 0; b < buckets.size(); ++b) {
    flats[b].div_(world);
    int64_t offset = 0;
    for (const torch::Tensor& g : buckets[b]) {
      const_cast<torch::Tensor&>(g).copy_(flats[b].narrow(0, offset, g.numel()).view(g.sizes()));
      offset += g.numel();
    }
  }
  ++stats_.calls;
  stats_.buckets += static_cast<int64_t>(buckets.size());
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void broadcast_from_rank0(Collectives& collectives, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  // Contiguous copies travel; channels-last or strided tensors take them back.
  std::vector<torch::Tensor> flats;
  for (const torch::Tensor& t : tensors) flats.push_back(t.contiguous().clone());
  collectives.broadcast(flats);
  for (size_t i = 0; i < tensors.size(); ++i) const_cast<torch::Tensor&>(tensors[i]).copy_(flats[i]);
}

std::unique_ptr<GradientAverager> join_data_parallel(Collectives& collectives, TrainableGan& gan, torch::Device device) {
  broadcast_from_rank0(collectives, gan.state_tensors(false));
  auto averager = std::make_unique<GradientAverager>(collectives);
  StepHooks hooks;
  hooks.average_gradients = [a = averager.get()](torch::optim::Optimizer& optimizer) { a->average(optimizer); };
  hooks.mean_over_ranks = [&collectives, device](double value) { return average_values(collectives, {value}, device)[0]; };
  gan.set_step_hooks(hooks);
  return averager;
}

std::vector<double> average_values(Collectives& collectives, const std::vector<double>& values, torch::Device device) {
  std::vector<torch::Tensor> sums{torch::tensor(values, torch::kDouble).to(device)};
  collectives.sum(sums);
  const torch::Tensor host = (sums[0] / collectives.size()).cpu();
  const double* p = host.data_ptr<double>();
  return std::vector<double>(p, p + host.numel());
}

bool any_rank(Collectives& collectives, bool flag) { return collectives.max({flag ? 1 : 0})[0] != 0; }

uint64_t state_digest(const std::vector<torch::Tensor>& tensors) {
  uint64_t hash = fnv1a64(nullptr, 0);
  for (const torch::Tensor& t : tensors) {
    const torch::Tensor host = t.detach().cpu().contiguous();
    hash = fnv1a64(host.data_ptr(), static_cast<size_t>(host.numel()) * host.element_size(), hash);
  }
  return hash;
}

bool ranks_agree(Collectives& collectives, uint64_t digest) {
  // Equal on every rank exactly when the maximum of each half equals the
  // negated maximum of its negation (the minimum).
  const auto high = static_cast<int64_t>(digest >> 32), low = static_cast<int64_t>(digest & 0xffffffffu);
  const std::vector<int64_t> m = collectives.max({high, low, -high, -low});
  return m[0] == -m[2] && m[1] == -m[3];
}

}  // namespace sg
