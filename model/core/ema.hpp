#pragma once
// The schedule of the EMA generator (g_running: what samples, sg_test and
// sg_eval draw from). The reference averages every parameter with a fixed
// 0.999 per G step; in a short run a block's stage is a few hundred steps,
// so its average still holds a large share of the block's random
// initialisation at the end of the stage (0.999^800 = 45%), and one such
// term can saturate the output. Here each generator block (its two
// convolutions with its to_rgb; the mapping network goes with the 4x4
// block) has its own decay, from the images that block has trained on: a
// half-life of `rampup` x those images (StyleGAN2-ADA's ema_rampup), capped
// at the reference's per-step decay. A block that just appeared is then
// not averaged with its initialisation, and once a block has trained on
// 13,860 batches (0.999 is a half-life of 693 steps) it is averaged exactly
// as the reference averages it.
#include <cstdint>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}

namespace sg {

// Images that put any block's decay at its cap: what a block of a file
// without EMA ages (a reference checkpoint) counts as trained on.
constexpr uint64_t kFullyRampedImages = uint64_t{1} << 40;

struct EmaOptions {
  double decay = 0.999;  // per G step: the reference's, and the cap
  double rampup = 0.05;  // half-life as a fraction of the images a block trained on; 0: the fixed decay (the reference)
};

// The decay of each generator block for a G step on `batch` images:
// block_images[i] counts the images block i has trained on, this step's
// included. A block that has not trained yet gets 1 (left alone).
std::vector<double> block_ema_decays(const EmaOptions& options, const std::vector<uint64_t>& block_images, int64_t batch);

// The generator block a parameter belongs to, by its state-dict name:
// generator.progression.I.* and generator.to_rgb.I.* -> I; style.* (the
// mapping network) -> 0. -1 for any other name.
int generator_block_of(const std::string& name);

// The EMA of both architectures and the gradient switches of their steps.
// p_ema = decay p_ema + (1 - decay) p over parameters (buffers are constants).
void update_ema(torch::nn::Module& ema, const torch::nn::Module& model, double decay = 0.999);
// The average's start: an exact copy of model's parameters, in eval mode,
// outside autograd.
void start_ema(torch::nn::Module& ema, const torch::nn::Module& model);

void set_requires_grad(torch::nn::Module& module, bool flag);
// Gradients dropped rather than zeroed, as PyTorch 2's zero_grad() (the
// references' module.zero_grad()) does: the backward pass then hands each
// parameter its gradient instead of adding it to a zero-filled one, and
// Adam skips parameters that this step did not use.
void drop_gradients(torch::optim::Optimizer& optimizer);

// p_ema = d p_ema + (1 - d) p with each parameter's block decay d
// (decays[block]); blocks with decay 1 are skipped. One pair of
// multi-tensor operations per distinct decay.
void update_ema_by_block(torch::nn::Module& ema, const torch::nn::Module& model, const std::vector<double>& decays);

}  // namespace sg
