// bench_model: milliseconds per full training iteration (WGAN-GP D step with
// its penalty + G step, style mixing on, EMA) at each resolution, for the
// default width and a small one. --arch stylegan2: one StyleGAN2 iteration
// as its train.py runs it (logistic D and G steps, mixing 0.9, EMA), with
// the lazy R1 and path-length steps at their amortised rate: each kind of
// iteration timed apart, weighed as a 16-iteration cycle runs them (R1 once,
// path length four times).
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <cstdio>
#include <thread>

#include "common/cli.hpp"
#include "model/devices/device.hpp"
#include "model/devices/flop_count.hpp"
#include "model/stylegan/layers.hpp"
#include "model/stylegan/train_step.hpp"
#include "model/stylegan2/networks.hpp"
#include "model/stylegan2/train_step.hpp"

namespace {

namespace cli = sg::cli;

struct BenchFlags {
  std::vector<int> widths{512, 64};
  int batch = 16, min_size = 8, max_size = 32, iterations = 3, threads = 0, image_channels = 3;
  std::string device_name, precision = "fp32", arch = "stylegan";
  bool channels_last = false;
  int channel_multiplier = 2;
  sg::stylegan::ConvolutionSettings convolutions = sg::stylegan::convolution_settings();
};

void add_flags(CLI::App& app, BenchFlags& f) {
  const std::vector<long long> sizes = {8, 16, 32, 64, 128, 256, 512, 1024};
  app.add_option("--channels", f.widths, "network widths to measure");
  cli::add_number(app, "--batch", f.batch, "batch size", cli::between(1, 4096));
  cli::add_choice(app, "--max_size,--max-size", f.max_size, "largest resolution measured", sizes);
  cli::add_choice(app, "--min_size,--min-size", f.min_size, "smallest resolution measured (default 8)", sizes);
  cli::add_number(app, "--iterations", f.iterations, "timed iterations per point (after one warm-up)",
                  cli::between(1, 1000000));
  cli::add_choice(app, "--image_channels,--image-channels", f.image_channels, "1 or 3", {1, 3});
  cli::add_number(app, "--threads", f.threads, "intra-op threads (0, the default: all cores)", cli::between(0, 1024));
  app.add_option("--device", f.device_name, "cpu or cuda (default: cuda if available)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--channels-last", f.channels_last, "NHWC weights and batches");
  app.add_option("--precision", f.precision, "fp32, tf32 (CUDA tensor cores), or bf16 autocast for the forward passes")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  app.add_option("--arch", f.arch, "stylegan (default) or stylegan2")->check(CLI::IsMember({"stylegan", "stylegan2"}));
  cli::add_choice(app, "--channel_multiplier,--channel-multiplier", f.channel_multiplier, "StyleGAN2: 2 or 1", {1, 2});
  cli::add_number(app, "--phase-split-from", f.convolutions.phase_split_minimum_size,
                  "StyleGAN: upsample/pool convolutions as 2x2 phase convolutions from this size",
                  cli::between(0, 4096));
}

torch::Device prepare_device(BenchFlags& f) {
  sg::configure_cpu_runtime(f.threads);
  sg::stylegan::set_convolution_settings(f.convolutions);
  f.device_name = sg::resolve_device_name(f.device_name);
  torch::Device device(f.device_name == "cuda" ? torch::kCUDA : torch::kCPU);
  sg::configure_device(device);
  return device;
}

// The machine's attained peak, measured in this run, printed beside the CPU
// model: what the iterations' GFLOP/s are a share of.
double print_peak(const torch::Device& device, const std::string& precision) {
  const torch::ScalarType dtype = precision == "bf16" ? torch::kBFloat16 : torch::kFloat;
  const sg::MeasuredPeak peak = sg::measure_peak(device, dtype);
  std::printf("%s\n", sg::describe_peak(device, dtype, peak).c_str());
  return peak.best();
}

// FLOPs of one call of `step` (convolutions and matrix products).
double count_flops(const std::function<torch::Tensor(int)>& step, int i) {
  sg::FlopCounter counter;
  step(i).item<float>();
  counter.stop();
  return counter.flops();
}

// Milliseconds per call of `step` over `iterations` calls after a warm-up.
double time_steps(const torch::Device& device, int iterations, const std::function<torch::Tensor(int)>& step) {
  step(0).item<float>();  // warm-up
  if (device.is_cuda()) torch::cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor last;
  for (int i = 1; i <= iterations; ++i) last = step(i);
  last.item<float>();
  if (device.is_cuda()) torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / iterations;
}

// StyleGAN2: the three kinds of iteration, timed apart and weighed by how
// often a 16-iteration cycle runs them: plain (12), with the path-length
// step (3), with both lazy steps (1).
void time_stylegan2(BenchFlags& f) {
  const torch::Device device = prepare_device(f);
  const sg::stylegan2::Regularization regularization;
  std::printf("device %s, %d threads, batch %d, StyleGAN2 (logistic, lazy R1 every %d, path length every %d), "
              "mixing 0.9, %s; ms per iteration of each kind (%d timed each) and amortised over a cycle\n",
              f.device_name.c_str(), torch::get_num_threads(), f.batch, regularization.d_every, regularization.g_every,
              f.precision.c_str(), f.iterations);
  const double peak = print_peak(device, f.precision);
  std::printf("%8s %8s %10s %10s %10s %14s %12s %10s %9s %8s\n", "width", "size", "plain", "+path", "+path+R1",
              "ms/iteration", "images/s", "GFLOP/it", "GFLOP/s", "of peak");
  for (int width : f.widths)
    for (int size = f.min_size; size <= f.max_size; size *= 2) {
      sg::stylegan::StyleGanConfig shared;
      shared.max_channels = width;
      shared.image_channels = f.image_channels;
      torch::manual_seed(0);
      sg::stylegan2::Models models = sg::stylegan2::make_models(
          sg::stylegan2::config_from(shared, size, f.channel_multiplier), 0.002, sg::stylegan2::Loss::LogisticR1,
          regularization, device);
      std::mt19937_64 rng(0);
      sg::stylegan2::LazyState state;
      sg::stylegan2::StepOptions options;
      options.regularization = regularization;
      options.precision = sg::parse_precision(f.precision);
      const auto real = torch::randn({f.batch, f.image_channels, size, size}, torch::TensorOptions().device(device));
      auto kind = [&](int64_t offset) {  // iteration numbers 16k + offset
        return [&, offset](int i) {
          options.iteration = 16 * i + offset;
          return sg::stylegan2::train_step(models, real, options, state, rng).d_loss;
        };
      };
      const double both = time_steps(device, f.iterations, kind(0)), path = time_steps(device, f.iterations, kind(4)),
                   plain = time_steps(device, f.iterations, kind(1));
      const double ms = (12 * plain + 3 * path + both) / 16;
      const double gflop = (12 * count_flops(kind(1), 0) + 3 * count_flops(kind(4), 0) + count_flops(kind(0), 0)) / 16 / 1e9;
      std::printf("%8d %8d %10.1f %10.1f %10.1f %14.1f %12.1f %10.2f %9.0f %7.0f%%\n", width, size, plain, path, both, ms,
                  f.batch * 1000.0 / ms, gflop, gflop / ms * 1000, 100 * gflop / ms * 1000 / peak);
      std::fflush(stdout);
    }
}

// StyleGAN: WGAN-GP with mixing, at a fade-in (both paths run).
void time_stylegan(BenchFlags& f) {
  sg::step_for_size(f.max_size);  // a bad size fails here, before the table starts
  const torch::Device device = prepare_device(f);
  std::printf("device %s, %d threads, batch %d, WGAN-GP, mixing on, %s\n", f.device_name.c_str(),
              torch::get_num_threads(), f.batch, f.precision.c_str());
  const double peak = print_peak(device, f.precision);
  std::printf("%8s %8s %14s %12s %10s %9s %8s\n", "width", "size", "ms/iteration", "images/s", "GFLOP/it", "GFLOP/s",
              "of peak");
  for (int width : f.widths) {
    sg::stylegan::StyleGanConfig config;
    config.max_size = f.max_size;
    config.max_channels = width;
    config.image_channels = f.image_channels;
    torch::manual_seed(0);
    sg::stylegan::StepModels models = sg::stylegan::make_step_models(config, 1e-3, device);
    if (f.channels_last) sg::stylegan::to_channels_last(models);
    std::mt19937_64 rng(0);
    for (int size = f.min_size; size <= f.max_size; size *= 2) {
      sg::stylegan::StepSettings settings;
      settings.step = sg::step_for_size(size);
      settings.alpha = 0.5;
      settings.precision = sg::parse_precision(f.precision);
      auto real = torch::randn({f.batch, f.image_channels, size, size}, torch::TensorOptions().device(device));
      if (f.channels_last) real = real.contiguous(torch::MemoryFormat::ChannelsLast);
      const auto step = [&](int) { return sg::stylegan::train_step(models, real, settings, rng).d_loss; };
      const double ms = time_steps(device, f.iterations, step);
      const double gflop = count_flops(step, 0) / 1e9;
      std::printf("%8d %8d %14.1f %12.1f %10.2f %9.0f %7.0f%%\n", width, size, ms, f.batch * 1000.0 / ms, gflop,
                  gflop / ms * 1000, 100 * gflop / ms * 1000 / peak);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_model: ms per StyleGAN training iteration"};
  BenchFlags f;
  add_flags(app, f);
  if (int code = cli::parse_flags(app, argc, argv, "bench_model"); code >= 0) return code;
  try {
    if (f.arch == "stylegan2")
      time_stylegan2(f);
    else
      time_stylegan(f);
    return 0;
  } catch (const std::exception& e) {
    cli::print_error("bench_model", e);
    return 1;
  }
}
