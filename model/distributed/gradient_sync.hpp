#pragma once
// Data-parallel training over Collectives: gradients averaged in a few large
// flat buckets before every optimiser step, rank 0's weights handed to every
// rank, small values averaged, and a digest to confirm that every rank holds
// the same state.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "model/core/trainable_gan.hpp"
#include "model/distributed/collectives.hpp"

namespace sg {

struct ReduceStats {
  int64_t calls = 0;     // averaging calls (one per optimiser step)
  int64_t buckets = 0;   // all-reduce operations
  int64_t bytes = 0;     // bytes all-reduced, per rank
  double seconds = 0;    // wall time inside them
};

class GradientAverager {
 public:
  // Buckets of at most bucket_bytes each (a gradient larger than that is a
  // bucket of its own).
  explicit GradientAverager(Collectives& collectives, int64_t bucket_bytes = int64_t{32} << 20);
  // Every defined gradient of `parameters` replaced by its mean over ranks.
  void average(const std::vector<torch::Tensor>& parameters);
  void average(torch::optim::Optimizer& optimizer);
  const ReduceStats& stats() const { return stats_; }

 private:
  Collectives& collectives_;
  int64_t bucket_bytes_;
  ReduceStats stats_;
};

// Every tensor replaced by rank 0's (parameters and buffers: the initial
// weights of every rank).
void broadcast_from_rank0(Collectives& collectives, const std::vector<torch::Tensor>& tensors);

// Makes `gan` one replica of a data-parallel world: rank 0's weights
// broadcast, and its steps averaging gradients (and running statistics)
// over the ranks. The averager returned must outlive the gan's training.
std::unique_ptr<GradientAverager> join_data_parallel(Collectives& collectives, TrainableGan& gan, torch::Device device);

// The mean over ranks of each value (the same on every rank: a sum in
// double on the CPU group is not needed; these go through the data group).
std::vector<double> average_values(Collectives& collectives, const std::vector<double>& values, torch::Device device);

// Whether any rank's flag is set (every rank gets the same answer).
bool any_rank(Collectives& collectives, bool flag);

// FNV-1a 64 over the bytes of every tensor, in order (copied to the host).
uint64_t state_digest(const std::vector<torch::Tensor>& tensors);
// Whether every rank passed the same digest.
bool ranks_agree(Collectives& collectives, uint64_t digest);

}  // namespace sg
