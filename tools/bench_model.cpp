// bench_model: milliseconds per full training iteration (WGAN-GP D step with
// its penalty + G step, style mixing on, EMA) at each resolution, for the
// default width and a small one. --arch stylegan2: one StyleGAN2 iteration
// as its train.py runs it (logistic D and G steps, mixing 0.9, EMA), with
// the lazy R1 and path-length steps at their amortised rate: each kind of
// iteration timed apart, weighed as a 16-iteration cycle runs them (R1 once,
// path length four times).
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/cli.hpp"
#include "model/devices/device.hpp"
#include "model/stylegan/train_step.hpp"
#include "model/stylegan2/train_step.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bench_model: ms per StyleGAN training iteration"};
  std::vector<int> widths{512, 64};
  int batch = 16, min_size = 8, max_size = 32, iterations = 3, threads = 0, image_channels = 3;
  std::string device_name, precision = "fp32";
  bool channels_last = false;
  std::string arch = "stylegan";
  int channel_multiplier = 2;
  app.add_option("--channels", widths, "network widths to measure");
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber);
  app.add_option("--max_size,--max-size", max_size, "largest resolution measured");
  app.add_option("--min_size,--min-size", min_size, "smallest resolution measured (default 8)");
  app.add_option("--iterations", iterations, "timed iterations per point (after one warm-up)")
      ->check(CLI::PositiveNumber);
  app.add_option("--image_channels,--image-channels", image_channels, "1 or 3")->check(CLI::IsMember({1, 3}));
  app.add_option("--threads", threads, "intra-op threads (default: all cores)");
  app.add_option("--device", device_name, "cpu or cuda (default: cuda if available)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--channels-last", channels_last, "NHWC weights and batches");
  app.add_option("--precision", precision, "fp32, tf32 (CUDA tensor cores), or bf16 autocast for the forward passes")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  app.add_option("--arch", arch, "stylegan (default) or stylegan2")->check(CLI::IsMember({"stylegan", "stylegan2"}));
  app.add_option("--channel_multiplier,--channel-multiplier", channel_multiplier, "StyleGAN2: 2 or 1")
      ->check(CLI::IsMember({1, 2}));
  if (int code = sg::cli::parse_flags(app, argc, argv, "bench_model"); code >= 0) return code;

  try {
    if (arch == "stylegan2") {
      sg::configure_cpu_runtime(threads);
      device_name = sg::resolve_device_name(device_name);
      torch::Device device(device_name == "cuda" ? torch::kCUDA : torch::kCPU);
      sg::configure_device(device);
      const sg::stylegan2::Regularization regularization;
      // The three kinds of iteration, timed apart and weighed by how often
      // a 16-iteration cycle runs them: plain (12), with the path-length
      // step (3), with both lazy steps (1).
      std::printf("device %s, %d threads, batch %d, StyleGAN2 (logistic, lazy R1 every %d, path length every %d), "
                  "mixing 0.9; ms per iteration of each kind (%d timed each) and amortised over a cycle\n",
                  device_name.c_str(), torch::get_num_threads(), batch, regularization.d_every, regularization.g_every,
                  iterations);
      std::printf("%8s %8s %10s %10s %10s %14s %12s\n", "width", "size", "plain", "+path", "+path+R1", "ms/iteration",
                  "images/s");
      for (int width : widths)
        for (int size = min_size; size <= max_size; size *= 2) {
          sg::stylegan2::Config config;
          config.size = size;
          config.max_channels = width;
          config.image_channels = image_channels;
          config.channel_multiplier = channel_multiplier;
          torch::manual_seed(0);
          sg::stylegan2::Models models =
              sg::stylegan2::make_models(config, 0.002, sg::stylegan2::Loss::LogisticR1, regularization, device);
          std::mt19937_64 rng(0);
          sg::stylegan2::LazyState state;
          sg::stylegan2::StepOptions options;
          options.regularization = regularization;
          const auto real = torch::randn({batch, image_channels, size, size}, torch::TensorOptions().device(device));
          auto time_kind = [&](int64_t offset) {  // iteration numbers 16k + offset
            options.iteration = offset;
            sg::stylegan2::train_step(models, real, options, state, rng).d_loss.item<float>();  // warm-up
            if (device.is_cuda()) torch::cuda::synchronize();
            const auto start = std::chrono::steady_clock::now();
            sg::stylegan2::StepStats stats;
            for (int i = 1; i <= iterations; ++i) {
              options.iteration = 16 * i + offset;
              stats = sg::stylegan2::train_step(models, real, options, state, rng);
            }
            stats.d_loss.item<float>();
            if (device.is_cuda()) torch::cuda::synchronize();
            return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
                   iterations;
          };
          const double both = time_kind(0), path = time_kind(4), plain = time_kind(1);
          const double ms = (12 * plain + 3 * path + both) / 16;
          std::printf("%8d %8d %10.1f %10.1f %10.1f %14.1f %12.1f\n", width, size, plain, path, both, ms,
                      batch * 1000.0 / ms);
          std::fflush(stdout);
        }
      return 0;
    }
    sg::step_for_size(max_size);  // a bad size fails here, before the table starts
    sg::configure_cpu_runtime(threads);
    device_name = sg::resolve_device_name(device_name);
    torch::Device device(device_name == "cuda" ? torch::kCUDA : torch::kCPU);
    sg::configure_device(device);
    std::printf("device %s, %d threads, batch %d, WGAN-GP, mixing on, %s\n", device_name.c_str(),
                torch::get_num_threads(), batch, precision.c_str());
    std::printf("%8s %8s %14s %12s\n", "width", "size", "ms/iteration", "images/s");
    for (int width : widths) {
      sg::stylegan::StyleGanConfig config;
      config.max_size = max_size;
      config.max_channels = width;
      config.image_channels = image_channels;
      torch::manual_seed(0);
      sg::stylegan::StepModels models = sg::stylegan::make_step_models(config, 1e-3, device);
      if (channels_last) sg::stylegan::to_channels_last(models);
      std::mt19937_64 rng(0);
      for (int size = min_size; size <= max_size; size *= 2) {
        sg::stylegan::StepSettings settings;
        settings.step = sg::step_for_size(size);
        settings.alpha = 0.5;  // a fade-in: both paths run
        settings.precision = sg::parse_precision(precision);
        auto real = torch::randn({batch, image_channels, size, size}, torch::TensorOptions().device(device));
        if (channels_last) real = real.contiguous(torch::MemoryFormat::ChannelsLast);
        sg::stylegan::train_step(models, real, settings, rng).d_loss.item<float>();  // warm-up
        if (device.is_cuda()) torch::cuda::synchronize();
        auto start = std::chrono::steady_clock::now();
        sg::stylegan::StepStats stats;
        for (int i = 0; i < iterations; ++i) stats = sg::stylegan::train_step(models, real, settings, rng);
        stats.d_loss.item<float>();
        if (device.is_cuda()) torch::cuda::synchronize();
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
                    iterations;
        std::printf("%8d %8d %14.1f %12.1f\n", width, size, ms, batch * 1000.0 / ms);
        std::fflush(stdout);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("bench_model", e);
    return 1;
  }
}
