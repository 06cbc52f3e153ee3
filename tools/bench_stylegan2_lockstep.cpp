// bench_stylegan2_lockstep: our StyleGAN2 training step run in lock-step
// with stylegan2-pytorch's (tools/bench_stylegan2_lockstep.sh): from the
// same weights (a train.py checkpoint), on the same real batches, with the
// same draws from the torch generator (and, with --mixing, the same mixing
// draws, which the reference replays from our lines), one line per
// iteration: D's and G's losses, the
// path-length mean and the sums of |parameter| of G, D and g_ema. Where the
// two computations agree, the lines agree to round-off; the script compares
// them with the reference against itself on another thread count.
// For the learning comparison (docs/stylegan2.md) it also trains long runs
// on a stream of the reference's batches: --save writes the result for
// sg_eval, --own-init starts from our initialisation instead of the file's.
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "datasets/batch_stream.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/core/batch_upload.hpp"
#include "model/core/schedule.hpp"
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

// The style-mixing draws train_step will make this iteration (D step, G
// step, then the path-length step on its iterations), read off a copy of
// its generator in its order: -1 for one latent, else the inject index.
// The reference replays them (its coin is Python's `random`), so mixing too
// can be compared draw for draw; were this order wrong, the runs would part.
std::vector<int> mixing_plan(std::mt19937_64 rng, double mixing, int n_latent, bool path_step) {
  std::vector<int> plan;
  for (int draw = 0; draw < (path_step ? 3 : 2); ++draw) {
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    std::uniform_int_distribution<int> index(1, n_latent - 1);
    plan.push_back(coin(rng) < mixing ? index(rng) : -1);
  }
  return plan;
}

// `iterations` batches of 16 from an LMDB as sg_train --seed streams them
// (its BatchStream seed for a single-size run, mirroring on).
torch::Tensor stream_batches(const std::string& lmdb, int size, int iterations, int seed) {
  const sg::LmdbReader reader(lmdb);
  sg::BatchStreamOptions o;
  o.size = size;
  o.batch = 16;
  o.seed = static_cast<uint64_t>(seed) + static_cast<uint64_t>(sg::step_for_size(size)) * 1000003ull;
  sg::BatchStream stream(reader, o);
  std::vector<torch::Tensor> batches;
  for (int i = 0; i < iterations; ++i) batches.push_back(sg::upload_batch(stream.next(), torch::kCPU));
  return torch::stack(batches);
}

struct LockstepRun {
  std::string checkpoint, batches;  // batches: a torch.save file or lmdb:PATH
  int iterations = 40, seed = 7, threads = 1;
  double mixing = 0;
  bool fp64 = false, own_init = false;
  std::string save_path, dump_path;
};

void convert_models(s2::Models& models, torch::Dtype dtype) {
  models.generator->to(dtype);
  models.discriminator->to(dtype);
  models.ema->to(dtype);
}

void run(const LockstepRun& r) {
  const s2::CheckpointInfo info = s2::read_checkpoint_info(r.checkpoint);
  const bool from_lmdb = r.batches.rfind("lmdb:", 0) == 0;
  const torch::Tensor batches =
      (from_lmdb ? stream_batches(r.batches.substr(5), info.config.size, r.iterations, r.seed) : read_batches(r.batches))
          .to(r.fp64 ? torch::kDouble : torch::kFloat);
  if (!r.dump_path.empty()) {  // the batches only, as the batches argument reads them back
    c10::Dict<std::string, torch::Tensor> file;
    file.insert("batches", batches);
    const std::vector<char> bytes = torch::pickle_save(file);
    std::ofstream(r.dump_path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return;
  }
  if (batches.size(3) != info.config.size || batches.size(2) != info.config.image_channels)
    throw sg::InputError(r.batches, "batches do not match the checkpoint's size and channels");
  s2::Regularization regularization;
  // Our own initial weights are drawn as sg_train draws them (the torch
  // generator seeded, then G, D and the EMA copy built).
  if (r.own_init) torch::manual_seed(static_cast<uint64_t>(r.seed));
  s2::Models models = s2::make_models(info.config, 0.002, s2::Loss::LogisticR1, regularization, torch::kCPU);
  sg::TrainPosition position;
  double path_mean = 0;
  std::mt19937_64 rng(static_cast<uint64_t>(r.seed));
  if (!r.own_init) s2::load_checkpoint(r.checkpoint, models, position, path_mean, rng);
  // Converted in place, so the optimisers (whose state is still empty)
  // keep these very parameters.
  if (r.fp64) convert_models(models, torch::kDouble);
  s2::LazyState state;
  state.path_mean = path_mean;
  torch::manual_seed(static_cast<uint64_t>(r.seed));
  for (int i = 0; i < r.iterations; ++i) {
    s2::StepOptions options;
    options.iteration = i;
    options.mixing = r.mixing;
    std::string plan;
    if (r.mixing > 0)
      for (int inject : mixing_plan(rng, r.mixing, info.config.n_latent(), i % options.regularization.g_every == 0))
        plan += (plan.empty() ? " mix " : ",") + std::to_string(inject);
    const s2::StepStats stats =
        s2::train_step(models, batches[i % batches.size(0)].clone(), options, state, rng);
    std::printf("%d d %.12f g %.12f path_mean %.12f G %.9f D %.9f g_ema %.9f%s\n", i, stats.d_loss.item<double>(),
                stats.g_loss.item<double>(), state.path_mean, magnitude(*models.generator),
                magnitude(*models.discriminator), magnitude(*models.ema), plan.c_str());
  }
  if (!r.save_path.empty()) {
    convert_models(models, torch::kFloat);
    position.iteration = position.iteration + r.iterations;
    s2::SavedTraining saved;
    saved.batch = static_cast<int>(batches.size(1));
    saved.mixing = r.mixing;
    s2::save_checkpoint({r.save_path}, models, position, state.path_mean, rng, saved);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_stylegan2_lockstep: StyleGAN2 training steps from given weights and batches, one line each"};
  LockstepRun r;
  app.add_option("checkpoint", r.checkpoint, "the starting weights (a train.py or our StyleGAN2 checkpoint)")->required();
  app.add_option("batches", r.batches,
                 "a torch.save file {'batches': [N, B, C, H, W]} (iteration i takes i mod N), or lmdb:PATH for "
                 "batches of 16 as sg_train --seed streams them from PATH")
      ->required();
  cli::add_number(app, "--iterations", r.iterations, "training iterations", cli::between(1, 100000));
  cli::add_number(app, "--seed", r.seed, "seed of the torch generator (latents, noise, projections)",
                  cli::between(0, 2147483647));
  cli::add_number(app, "--threads", r.threads, "intra-op threads", cli::between(1, 1024));
  cli::add_number(app, "--mixing", r.mixing,
                  "style-mixing probability; the draws are printed per iteration (mix D,G[,path]: -1 one latent, "
                  "else the inject index) for the reference to replay",
                  cli::between(0, 1));
  app.add_option("--save", r.save_path, "write our checkpoint (fp32) after the last iteration, for sg_eval");
  app.add_option("--dump-batches", r.dump_path,
                 "write the batches as the batches argument reads them ({'batches': tensor}, torch.load reads it "
                 "too) and train nothing");
  app.add_flag("--own-init", r.own_init,
               "start from our initialisation as sg_train --seed draws it (the checkpoint gives the configuration only)");
  app.add_flag("--double", r.fp64,
               "train in float64 (the reference too): round-off then stays near 1e-16 for many more iterations, "
               "so a gap that opens is a difference of computation");
  if (int code = cli::parse_flags(app, argc, argv, "bench_stylegan2_lockstep"); code >= 0) return code;
  try {
    sg::configure_cpu_runtime(r.threads);
    run(r);
    return 0;
  } catch (const std::exception& e) {
    cli::print_error("bench_stylegan2_lockstep", e);
    return 1;
  }
}
