#include "model/devices/throughput.hpp"

#include <chrono>

#include "datasets/batch_stream.hpp"
#include "model/training/batch_upload.hpp"
#include "model/devices/device.hpp"
#include "model/training/schedule.hpp"
#include "model/training/train_step.hpp"

namespace sg {

double reference_training_gflop_per_image(int size) {
  switch (size) {
    case 8: return 13.8;
    case 16: return 62;
    case 32: return 256;
    case 64: return 778;
    case 128: return 1108;
    case 256: return 1438;
    default: return 0;
  }
}

ThroughputPoint measure_training_throughput(const LmdbReader& reader, int size, const ThroughputOptions& options) {
  const torch::Device device = resolve_device(options.device);
  configure_device(device);
  ScheduleConfig schedule;
  schedule.sched = true;
  ThroughputPoint point;
  point.size = size;
  point.batch = options.batch > 0 ? options.batch : batch_for(schedule, size);

  BatchStreamOptions stream_options;
  stream_options.size = size;
  stream_options.batch = point.batch;
  stream_options.seed = options.seed;
  BatchStream stream(reader, stream_options);

  StyleGanConfig config;
  config.max_size = size;
  config.max_channels = options.width;
  config.image_channels = reader.channels();
  torch::manual_seed(options.seed);
  StepModels models = make_step_models(config, learning_rate_for(schedule, size), device);
  if (options.channels_last) to_channels_last(models);
  std::mt19937_64 rng(options.seed);
  StepSettings settings;
  settings.step = step_for_size(size);
  settings.alpha = 1.0;  // a stage after its fade-in
  settings.mixing = options.mixing;
  settings.precision = options.precision;

  torch::Tensor resident;
  auto next_batch = [&] {
    if (options.synthetic && resident.defined()) return resident;
    auto real = upload_batch(stream.next(), device, options.channels_last);
    if (options.synthetic) resident = real;
    return real;
  };
  auto wait_for_device = [&](const StepStats& stats) {
    stats.d_loss.item<float>();
    if (device.is_cuda()) torch::cuda::synchronize();
  };

  StepStats stats;
  for (int i = 0; i < options.warmup_iterations; ++i) stats = train_step(models, next_batch(), settings, rng);
  if (stats.d_loss.defined()) wait_for_device(stats);
  std::unique_ptr<OpProfile> profile;
  if (options.profile_ops) profile = std::make_unique<OpProfile>();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  // The host queues ahead of the device; the clock is read once the device
  // has finished the last iteration.
  while (point.iterations < options.min_iterations || elapsed() < options.min_seconds) {
    stats = train_step(models, next_batch(), settings, rng);
    ++point.iterations;
  }
  wait_for_device(stats);
  point.seconds = elapsed();
  if (profile) {
    profile->stop();
    point.operators = profile->entries();
    point.top_level_operators = profile->top_level_calls();
    point.top_level_host_ms = profile->top_level_host_ms();
  }
  point.images_per_second = static_cast<double>(point.iterations * point.batch) / point.seconds;
  point.reference_gflop_per_image = reference_training_gflop_per_image(size);
  point.tflop_per_second = point.images_per_second * point.reference_gflop_per_image / 1000.0;
  return point;
}

}  // namespace sg
