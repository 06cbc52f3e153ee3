// bench_stylegan2_lockstep: our StyleGAN2 training step run in lock-step
// with stylegan2-pytorch's (tools/bench_stylegan2_lockstep.sh): from the
// same weights (a train.py checkpoint), on the same real batches, with the
// same draws from the torch generator (mixing 0, so that no Python `random`
// draw decides anything), one line per iteration: D's and G's losses, the
// path-length mean and the sums of |parameter| of G, D and g_ema. Where the
// two computations agree, the lines agree to round-off; the script compares
// them with the reference against itself on another thread count.
#include <torch/torch.h>

#include <cstdio>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "model/core/torch_file.hpp"
#include "model/devices/device.hpp"
#include "model/stylegan2/checkpoint.hpp"

namespace {

namespace cli = sg::cli;
namespace s2 = sg::stylegan2;

double magnitude(torch::nn::Module& module) {
  double sum = 0;
  for (const torch::Tensor& p : module.parameters()) sum += p.detach().to(torch::kDouble).abs().sum().item<double>();
  return sum;
}

// {'batches': [iterations, batch, C, H, W] float} as the script saves it.
torch::Tensor read_batches(const std::string& path) {
  const sg::TorchFile file = sg::read_torch_file(path);
  const sg::PyValue* batches = file.root->find("batches");
  if (!batches || !batches->is(sg::PyValue::Kind::Tensor) || batches->tensor.dim() != 5)
    throw sg::InputError(path, "holds no 'batches' tensor of [iterations, batch, channels, size, size]");
  return batches->tensor.to(torch::kFloat).contiguous();
}

void run(const std::string& checkpoint, const std::string& batches_path, int iterations, int seed) {
  const s2::CheckpointInfo info = s2::read_checkpoint_info(checkpoint);
  const torch::Tensor batches = read_batches(batches_path);
  if (batches.size(3) != info.config.size || batches.size(2) != info.config.image_channels)
    throw sg::InputError(batches_path, "batches do not match the checkpoint's size and channels");
  s2::Regularization regularization;
  s2::Models models = s2::make_models(info.config, 0.002, s2::Loss::LogisticR1, regularization, torch::kCPU);
  sg::TrainPosition position;
  double path_mean = 0;
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  s2::load_checkpoint(checkpoint, models, position, path_mean, rng);
  s2::LazyState state;
  state.path_mean = path_mean;
  torch::manual_seed(static_cast<uint64_t>(seed));
  for (int i = 0; i < iterations; ++i) {
    s2::StepOptions options;
    options.iteration = i;
    options.mixing = 0;
    const s2::StepStats stats =
        s2::train_step(models, batches[i % batches.size(0)].clone(), options, state, rng);
    std::printf("%d d %.6f g %.6f path_mean %.6f G %.6f D %.6f g_ema %.6f\n", i, stats.d_loss.item<double>(),
                stats.g_loss.item<double>(), state.path_mean, magnitude(*models.generator),
                magnitude(*models.discriminator), magnitude(*models.ema));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_stylegan2_lockstep: StyleGAN2 training steps from given weights and batches, one line each"};
  std::string checkpoint, batches;
  int iterations = 40, seed = 7, threads = 1;
  app.add_option("checkpoint", checkpoint, "the starting weights (a train.py or our StyleGAN2 checkpoint)")->required();
  app.add_option("batches", batches, "a torch.save file {'batches': [N, B, C, H, W]} (iteration i takes i mod N)")
      ->required();
  cli::add_number(app, "--iterations", iterations, "training iterations", cli::between(1, 100000));
  cli::add_number(app, "--seed", seed, "seed of the torch generator (latents, noise, projections)",
                  cli::between(0, 2147483647));
  cli::add_number(app, "--threads", threads, "intra-op threads", cli::between(1, 1024));
  if (int code = cli::parse_flags(app, argc, argv, "bench_stylegan2_lockstep"); code >= 0) return code;
  try {
    sg::configure_cpu_runtime(threads);
    run(checkpoint, batches, iterations, seed);
    return 0;
  } catch (const std::exception& e) {
    cli::print_error("bench_stylegan2_lockstep", e);
    return 1;
  }
}
