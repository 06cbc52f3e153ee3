#pragma once
// What the trainer needs from an architecture (StyleGAN, StyleGAN2): its
// networks, optimisers, one iteration, its average generator's pictures and
// its checkpoint files, behind one small interface, so that the loop,
// schedule, data, logs, samples and evaluation are shared. Each
// architecture implements it in its own folder; the GAN factory
// (model/training/gan_factory.hpp) is the one place that names both.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "model/core/drawing.hpp"
#include "model/core/train_position.hpp"

namespace sg {

// Architectures sg_train, sg_test and sg_eval know.
enum class Architecture { StyleGan, StyleGan2 };
const char* architecture_name(Architecture arch);
// "stylegan" or "stylegan2"; anything else: std::invalid_argument naming both.
Architecture parse_architecture(const std::string& name);

// Which architecture wrote a checkpoint (a StyleGAN2 file holds g_ema).
// InputError when it cannot be read.
Architecture checkpoint_architecture(const std::string& path);

// The loss a GAN trains with: WGAN-GP, or non-saturating (logistic) with R1.
enum class GanLoss { WganGp, R1 };

struct IterationScalars {
  // Left on the device: read back only when logged.
  torch::Tensor d_loss, g_loss, penalty;
  std::vector<torch::Tensor> extra;  // as TrainableGan::extra_scalar_names
  torch::Tensor real_signs;          // ADA: sum of sign(D(real)) over the batch's D step
};

// Training across processes: how a step averages over ranks (both unset:
// one process).
struct StepHooks {
  std::function<void(torch::optim::Optimizer&)> average_gradients;  // before every optimiser step
  std::function<double(double)> mean_over_ranks;                    // of a running statistic's batch value
};

class TrainableGan {
 public:
  virtual ~TrainableGan() = default;
  // Scalars logged after d_loss, g_loss and penalty (log.csv columns,
  // TensorBoard loss/<name>).
  virtual std::vector<std::string> extra_scalar_names() const = 0;
  virtual int style_dim() const = 0;
  virtual void set_learning_rate(double lr) = 0;
  virtual void to_channels_last() = 0;
  // One iteration on `real` (on the device) at the schedule's step and
  // alpha; `position` is the position before it (iteration counts from 0);
  // `images` the iteration's images over every rank (real's batch in one
  // process). D sees its images augmented with probability position.augment.p.
  // A conditional GAN takes `labels`, the class of each real image [B]
  // (int64, on the device); undefined for an unconditional one.
  virtual IterationScalars train_iteration(const torch::Tensor& real, const torch::Tensor& labels, int64_t images,
                                           int step, double alpha, TrainPosition& position, std::mt19937_64& rng) = 0;
  virtual void set_step_hooks(const StepHooks& hooks) = 0;
  // G's, D's and the average generator's parameters and buffers (what rank 0
  // hands to every rank), then with `optimizers` the optimisers' state.
  virtual std::vector<torch::Tensor> state_tensors(bool optimizers) = 0;
  // The average generator's images of latents z (on the device), in [-1, 1].
  virtual torch::Tensor draw_average(const torch::Tensor& z, int step, double alpha) = 0;
  // The average generator at the step and alpha as a drawer of uint8
  // images whose latents and noise come from the caller's CPU generator
  // (the SWD during training draws the same ones every time).
  virtual SeededDrawer average_drawer(int step, double alpha, torch::Device device) = 0;
  virtual void save(const std::vector<std::string>& paths, const TrainPosition& position, const std::mt19937_64& rng,
                    const std::string& train_config) = 0;
  // Restores what the file holds; position from the file when report.position.
  virtual LoadReport load(const std::string& path, TrainPosition& position, std::mt19937_64& rng) = 0;
};

// Parameters then buffers of each module, in order.
std::vector<torch::Tensor> module_state_tensors(const std::vector<torch::nn::Module*>& modules);
// For each parameter with Adam state, in the optimiser's order: its step
// count, exp_avg and exp_avg_sq.
std::vector<torch::Tensor> adam_state_tensors(torch::optim::Adam& optimizer);

// ADA's overfitting measure for one batch: the sum of sign(D(real)). Under
// the logistic loss D's decision boundary is 0; WGAN-GP scores have no fixed
// zero, so there the signs are taken about the batch's mean D(fake).
torch::Tensor real_sign_sum(const torch::Tensor& real_scores, const torch::Tensor& fake_score_mean, bool wgan);

// Stores every 4-D parameter and buffer channels-last (NHWC), the layout
// oneDNN and cuDNN convolve without reorders.
void to_channels_last(torch::nn::Module& module);

}  // namespace sg
