#include "model/training/throughput.hpp"

#include <chrono>

#include "datasets/batch_stream.hpp"
#include "model/core/batch_upload.hpp"
#include "model/core/schedule.hpp"
#include "model/devices/device.hpp"
#include "model/devices/flop_count.hpp"
#include "model/distributed/gradient_sync.hpp"
#include "model/training/gan_factory.hpp"

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

namespace {

// The GAN of a stage after its fade-in (the fixed EMA decay) with --sched's
// learning rate; StyleGAN2 as its train.py (logistic loss with lazy R1, lr 0.002).
GanSpec throughput_spec(const ThroughputOptions& options, int size, int batch, int image_channels) {
  ScheduleConfig schedule;
  schedule.sched = true;
  GanSpec spec;
  spec.arch = options.arch;
  spec.model.max_size = size;
  spec.model.max_channels = options.width;
  spec.model.image_channels = image_channels;
  spec.channel_multiplier = options.channel_multiplier;
  const bool v2 = options.arch == Architecture::StyleGan2;
  spec.lr = v2 ? 0.002 : learning_rate_for(schedule, size);
  spec.loss = v2 ? GanLoss::R1 : GanLoss::WganGp;
  spec.batch = batch;
  spec.mixing = options.mixing;
  spec.precision = options.precision;
  spec.ema.rampup = 0;
  return spec;
}

void record_allreduce(ThroughputPoint& point, const ReduceStats& before, const ReduceStats& after) {
  point.allreduce_seconds = after.seconds - before.seconds;
  point.allreduce_bytes_per_iteration =
      static_cast<double>(after.bytes - before.bytes) / static_cast<double>(point.iterations);
}

void record_profile(ThroughputPoint& point, OpProfile& profile) {
  profile.stop();
  point.operators = profile.entries();
  point.top_level_operators = profile.top_level_calls();
  point.top_level_host_ms = profile.top_level_host_ms();
}

}  // namespace

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
  Collectives* world = options.collectives && options.collectives->size() > 1 ? options.collectives : nullptr;
  point.world = world ? world->size() : 1;
  stream_options.shards = point.world;
  stream_options.shard = world ? world->rank() : 0;
  BatchStream stream(reader, stream_options);

  torch::manual_seed(options.seed);
  const GanSpec spec = throughput_spec(options, size, point.batch, reader.channels());
  std::unique_ptr<TrainableGan> gan = make_gan(spec, device);
  TrainPosition position;
  position.block_images.assign(static_cast<size_t>(spec.model.steps() + 1), 0);
  if (options.channels_last) gan->to_channels_last();
  std::unique_ptr<GradientAverager> averager;
  if (world) averager = join_data_parallel(*world, *gan, device);
  position.augment.p = options.augment_p;
  std::mt19937_64 rng(options.seed);
  const int step = step_for_size(size);
  const int64_t cycle = options.arch == Architecture::StyleGan2 ? 16 : 1;

  torch::Tensor resident;
  auto next_batch = [&] {
    if (options.synthetic && resident.defined()) return resident;
    auto real = upload_batch(stream.next(), device, options.channels_last);
    if (options.synthetic) resident = real;
    return real;
  };
  auto wait_for_device = [&](const IterationScalars& stats) {
    stats.d_loss.item<float>();
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  // alpha 1: a stage after its fade-in.
  auto iterate = [&] {
    const torch::Tensor real = next_batch();
    const auto stats = gan->train_iteration(real, {}, real.size(0) * point.world, step, 1.0, position, rng);
    ++position.iteration;
    return stats;
  };

  IterationScalars stats;
  for (int i = 0; i < options.warmup_iterations; ++i) stats = iterate();
  if (stats.d_loss.defined()) wait_for_device(stats);
  // Timed cycles start where a cycle starts.
  while (position.iteration % cycle != 0) stats = iterate();
  if (stats.d_loss.defined()) wait_for_device(stats);
  std::unique_ptr<OpProfile> profile;
  if (options.profile_ops) profile = std::make_unique<OpProfile>();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  // The host queues ahead of the device; the clock is read once the device
  // has finished the last iteration.
  const ReduceStats reduce_before = averager ? averager->stats() : ReduceStats{};
  auto more = [&] {
    const bool wanted = point.iterations < options.min_iterations || elapsed() < options.min_seconds;
    // Every rank runs the same iterations (as sg_train's per-iteration stop check).
    return (world ? any_rank(*world, wanted) : wanted) || point.iterations % cycle != 0;
  };
  while (more()) {
    stats = iterate();
    ++point.iterations;
  }
  wait_for_device(stats);
  point.seconds = elapsed();
  if (averager) record_allreduce(point, reduce_before, averager->stats());
  if (profile) record_profile(point, *profile);
  point.images_per_second = static_cast<double>(point.iterations * point.batch) / point.seconds;
  {
    FlopCounter counter;
    for (int64_t i = 0; i < cycle; ++i) stats = iterate();
    wait_for_device(stats);
    counter.stop();
    point.gflop_per_iteration = counter.flops() / 1e9 / static_cast<double>(cycle);
  }
  point.gflop_per_second = point.gflop_per_iteration * static_cast<double>(point.iterations) / point.seconds;
  // The operation count is the StyleGAN reference's.
  if (options.arch == Architecture::StyleGan) point.reference_gflop_per_image = reference_training_gflop_per_image(size);
  point.tflop_per_second = point.images_per_second * point.reference_gflop_per_image / 1000.0;
  return point;
}

}  // namespace sg
