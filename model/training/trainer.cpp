#include "model/training/trainer.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/batch_stream.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/training/batch_upload.hpp"
#include "model/training/checkpoint.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/sampler.hpp"
#include "model/evaluation/swd_monitor.hpp"
#include "pipeline/atomic_file.hpp"
#include "pipeline/errors.hpp"
#include "pipeline/event_writer.hpp"
#include "pipeline/list_files.hpp"
#include "pipeline/progress.hpp"
#include "stages/animation.hpp"
#include "stages/image_codec.hpp"
#include "stages/image_grid.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

std::string describe(const TrainOptions& o) {
  std::ostringstream s;
  s << "lmdb=" << o.lmdb << " init_size=" << o.schedule.init_size << " max_size=" << o.schedule.max_size
    << " phase=" << o.schedule.phase << " sched=" << o.schedule.sched << " lr=" << o.schedule.lr
    << " batch=" << o.schedule.batch << " mixing=" << o.mixing << " loss=" << (o.loss == GanLoss::R1 ? "r1" : "wgan-gp") << " r1_gamma=" << o.r1_gamma
    << " seed=" << o.seed << " mirror=" << o.mirror << " precision=" << precision_name(o.precision)
    << " channels_last=" << o.channels_last << " ema_decay=" << o.ema.decay << " ema_rampup=" << o.ema.rampup;
  return s.str();
}

// loss.png from log.csv: discriminator loss red, generator loss blue.
std::string write_loss_plot(const fs::path& run) {
  std::ifstream csv(run / "log.csv");
  std::string line;
  std::getline(csv, line);  // header
  PlotSeries d{{}, {}, 200, 30, 30}, g{{}, {}, 30, 60, 200};
  while (std::getline(csv, line)) {
    std::vector<double> fields;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) fields.push_back(std::strtod(cell.c_str(), nullptr));
    if (fields.size() < 7) continue;
    d.x.push_back(fields[0]);
    d.y.push_back(fields[5]);
    g.x.push_back(fields[0]);
    g.y.push_back(fields[6]);
  }
  const std::string path = (run / "loss.png").string();
  write_png(path, plot_lines({d, g}));
  return path;
}

// training.gif from the sample grids, in iteration order.
std::string write_sample_animation(const fs::path& run) {
  const std::string samples = (run / "samples").string();
  std::vector<std::string> files;
  if (const auto error = list_files(samples, Depth::top_level, files, {".png"}))
    throw OutputError(samples, "cannot list the sample grids: " + error.message());
  if (files.empty()) return "";
  // At most 200 frames: every k-th grid, always the last.
  const size_t stride = (files.size() + 199) / 200;
  std::vector<Image8> frames;
  for (size_t i = 0; i < files.size(); ++i) {
    if (i % stride != 0 && i + 1 != files.size()) continue;
    std::ifstream in(files[i], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    frames.push_back(decode_png8(bytes, files[i]));
  }
  const std::string path = (run / "training.gif").string();
  write_gif(path, frames);
  return path;
}

}  // namespace

TrainResult train(const TrainOptions& options) {
  LmdbReader reader(options.lmdb);
  const std::vector<int> sizes = reader.sizes();
  if (sizes.empty()) throw InputError(options.lmdb, "the LMDB holds no records");
  auto has_size = [&](int s) { return std::find(sizes.begin(), sizes.end(), s) != sizes.end(); };
  std::string size_list;
  for (int s : sizes) size_list += (size_list.empty() ? "" : " ") + std::to_string(s);

  TrainOptions o = options;
  if (o.schedule.max_size == 0) o.schedule.max_size = sizes.back();
  for (int s = o.schedule.init_size; s <= o.schedule.max_size; s *= 2)
    if (!has_size(s))
      throw InputError(options.lmdb, "holds no " + std::to_string(s) + "x" + std::to_string(s) +
                                         " records, needed between --init_size and --max_size (it has: " + size_list +
                                         ")");
  o.model.max_size = o.schedule.max_size;
  // As the batch stream will deliver them.
  o.model.image_channels = reader.channels();
  // The dataset decides whether random mirroring is right for it.
  if (reader.meta() && !reader.meta()->config().random_mirror()) o.mirror = false;

  const torch::Device device = resolve_device(o.device);
  configure_device(device);
  torch::manual_seed(o.seed);
  StepModels models = make_step_models(o.model, learning_rate_for(o.schedule, o.schedule.init_size), device);
  std::mt19937_64 rng(o.seed);
  TrainPosition position;
  position.schedule = initial_schedule_state(o.schedule);
  position.block_images.assign(static_cast<size_t>(o.model.steps() + 1), 0);
  if (!o.resume.empty()) {
    const LoadReport loaded = load_checkpoint(o.resume, models, position, rng);
    if (!loaded.position) {
      // The schedule position from the flags: by default the stage after the
      // largest size the file trained (as its train_step-N name means), with
      // a fade-in when that block is new, at alpha 1 when it was trained.
      const int max_step = step_for_size(o.schedule.max_size);
      const int start = o.init_size_given ? step_for_size(o.schedule.init_size)
                                          : std::min(loaded.trained_step + 1, max_step);
      o.schedule.init_size = size_for_step(start);
      position = TrainPosition{};
      position.schedule = initial_schedule_state(o.schedule);
      position.schedule.first_stage_without_fade = start <= loaded.trained_step;
      position.block_images.assign(static_cast<size_t>(o.model.steps() + 1), 0);
      for (int i = 0; i <= std::min(loaded.trained_step, o.model.steps()); ++i)
        position.block_images[static_cast<size_t>(i)] = kFullyRampedImages;
      if (o.on_note) {
        const std::string size = std::to_string(o.schedule.init_size) + "x" + std::to_string(o.schedule.init_size);
        const int trained = size_for_step(loaded.trained_step);
        o.on_note(o.resume + ": " + loaded.note + "; trained to " + std::to_string(trained) + "x" +
                  std::to_string(trained) + ", so starting at " + size +
                  (position.schedule.first_stage_without_fade ? " at alpha 1" : " with a fade-in") + " from iteration 0" +
                  (o.init_size_given ? " (--init_size)" : " (--init_size to choose)"));
      }
    }
  }
  if (o.channels_last) to_channels_last(models);
  CheckpointMeta meta;
  meta.model = o.model;
  meta.train_config = describe(o);

  create_output_folder((fs::path(o.out) / "checkpoints").string());
  create_output_folder((fs::path(o.out) / "samples").string());
  const bool new_log = !fs::exists(fs::path(o.out) / "log.csv");
  std::ofstream csv(fs::path(o.out) / "log.csv", std::ios::app);
  if (!csv) throw OutputError(o.out, "cannot write log.csv");
  if (new_log) csv << "iteration,images,size,alpha,lr,d_loss,g_loss,penalty,images_per_s,swd\n";
  EventWriter events((fs::path(o.out) / "tensorboard").string());

  // The fixed latents of every sample grid, from their own generator.
  auto sample_generator = at::detail::createCPUGenerator(o.seed + 1);
  const torch::Tensor sample_z =
      torch::randn({o.sample_rows * o.sample_cols, o.model.style_dim}, sample_generator).to(device);

  int step = position.schedule.step;
  int size = size_for_step(step);
  int batch_size = batch_for(o.schedule, size);
  set_learning_rate(*models.g_optimizer, learning_rate_for(o.schedule, size), true);
  set_learning_rate(*models.d_optimizer, learning_rate_for(o.schedule, size), false);
  auto open_stream = [&](uint64_t epoch, uint64_t first_batch) {
    BatchStreamOptions so;
    so.size = size;
    so.batch = batch_size;
    so.mirror = o.mirror;
    so.seed = o.seed + static_cast<uint64_t>(step) * 1000003ull;
    so.start_epoch = epoch;
    so.start_batch = first_batch;
    return std::make_unique<BatchStream>(reader, so);
  };
  std::unique_ptr<BatchStream> stream = open_stream(position.data_epoch, position.data_batch);

  TrainResult result;
  auto checkpoint = [&](const std::string& name) {
    std::string path = (fs::path(o.out) / "checkpoints" / name).string();
    save_checkpoint({path, (fs::path(o.out) / "checkpoints" / "latest.ckpt").string()}, models, position, rng, meta);
    result.last_checkpoint = path;
  };
  char name[64];

  SwdMonitor monitor(reader, o.eval_images, o.seed);
  std::string last_swd;

  const auto start = std::chrono::steady_clock::now();
  auto last_log = start;
  uint64_t images_at_last_log = position.images_seen;
  const bool tty = o.show_progress;
  StepStats stats;
  while (true) {
    if (o.stop && o.stop->load()) {
      result.interrupted = true;
      break;
    }
    if (o.max_iter > 0 && position.iteration >= o.max_iter) break;
    IterationPlan plan = begin_iteration(o.schedule, position.schedule);
    if (plan.finished) break;
    if (plan.grew) {
      // The finished stage's checkpoint, named as the reference's train_step-N.
      std::snprintf(name, sizeof name, "train_step-%d.ckpt", plan.step);
      position.data_epoch = position.data_batch = 0;
      checkpoint(name);
      step = plan.step;
      size = size_for_step(step);
      batch_size = batch_for(o.schedule, size);
      set_learning_rate(*models.g_optimizer, learning_rate_for(o.schedule, size), true);
      set_learning_rate(*models.d_optimizer, learning_rate_for(o.schedule, size), false);
      stream.reset();
      stream = open_stream(0, 0);
    }
    position.alpha = plan.alpha;

    Batch batch = stream->next();
    position.data_epoch = batch.epoch;
    position.data_batch = batch.batch_in_epoch + 1;
    if (position.data_batch == stream->batches_per_epoch()) {
      position.data_batch = 0;
      ++position.data_epoch;
    }
    const torch::Tensor real = upload_batch(batch, device, o.channels_last);

    StepSettings settings;
    settings.step = step;
    settings.alpha = plan.alpha;
    settings.loss = o.loss;
    settings.r1_gamma = o.r1_gamma;
    settings.mixing = o.mixing;
    settings.precision = o.precision;
    for (int i = 0; i <= step; ++i) position.block_images[static_cast<size_t>(i)] += static_cast<uint64_t>(batch.count);
    settings.ema_decays = block_ema_decays(o.ema, position.block_images, batch.count);
    stats = train_step(models, real, settings, rng);
    end_iteration(position.schedule, batch.count);
    ++position.iteration;
    position.images_seen += static_cast<uint64_t>(batch.count);

    // SWD from 16x16 up; the row of an evaluated iteration is always logged.
    std::optional<SwdResult> swd;
    if (o.eval_every > 0 && position.iteration % o.eval_every == 0) {
      const auto eval_start = std::chrono::steady_clock::now();
      swd = monitor.measure(models.ema, step, plan.alpha, device);
      last_log += std::chrono::steady_clock::now() - eval_start;  // training speed without the evaluation
    }
    if (position.iteration % o.log_every == 0 || swd) {
      // Losses are read back (a host sync) only here.
      const float d = stats.d_loss.item<float>(), g = stats.g_loss.item<float>(), p = stats.penalty.item<float>();
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - last_log).count();
      const double rate = seconds > 0 ? static_cast<double>(position.images_seen - images_at_last_log) / seconds : 0;
      last_log = now;
      images_at_last_log = position.images_seen;
      const double lr = learning_rate_for(o.schedule, size);
      csv << position.iteration << ',' << position.images_seen << ',' << size << ',' << plan.alpha << ',' << lr << ','
          << d << ',' << g << ',' << p << ',' << rate << ',';
      if (swd) csv << swd->average;
      csv << '\n';
      csv.flush();
      events.scalar("loss/discriminator", d, position.iteration);
      events.scalar("loss/generator", g, position.iteration);
      events.scalar("loss/penalty", p, position.iteration);
      events.scalar("schedule/alpha", static_cast<float>(plan.alpha), position.iteration);
      events.scalar("schedule/resolution", static_cast<float>(size), position.iteration);
      events.scalar("schedule/lr", static_cast<float>(lr), position.iteration);
      events.scalar("speed/images_per_s", static_cast<float>(rate), position.iteration);
      if (swd) {
        events.scalar("eval/swd", static_cast<float>(swd->average), position.iteration);
        for (size_t l = 0; l < swd->resolutions.size(); ++l)
          events.scalar("eval/swd_" + std::to_string(swd->resolutions[l]), static_cast<float>(swd->per_level[l]),
                        position.iteration);
        char text[32];
        std::snprintf(text, sizeof text, "  SWD %.2f", swd->average);
        last_swd = text;
      }
      events.flush();
      if (tty) {
        const double eta = rate > 0 ? static_cast<double>(images_to_next_growth(o.schedule, position.schedule)) / rate : -1;
        std::fprintf(stderr, "\r%dx%d alpha %.3f it %lld  %.1f img/s  G %.3f D %.3f GP %.3f%s  next size in %s   ", size,
                     size, plan.alpha, static_cast<long long>(position.iteration), rate, g, d, p, last_swd.c_str(),
                     format_duration(eta).c_str());
        std::fflush(stderr);
      }
    }
    if (o.sample_every > 0 && position.iteration % o.sample_every == 0) {
      torch::NoGradGuard no_grad;
      auto images = tensor_to_images(models.ema->forward(sample_z, step, plan.alpha));
      Image8 grid = make_grid(images, o.sample_cols);
      std::string png = encode_png(grid, 6);
      std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(position.iteration));
      write_file_atomically((fs::path(o.out) / "samples" / name).string(), png, "sample grid");
      events.image("samples", png, grid.width, grid.height, grid.channels, position.iteration);
      events.flush();
    }
    if (o.checkpoint_every > 0 && position.iteration % o.checkpoint_every == 0) {
      std::snprintf(name, sizeof name, "%06lld.ckpt", static_cast<long long>(position.iteration));
      checkpoint(name);
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  std::snprintf(name, sizeof name, "%06lld.ckpt", static_cast<long long>(position.iteration));
  checkpoint(name);
  csv.close();
  result.loss_plot = write_loss_plot(o.out);
  result.animation = write_sample_animation(o.out);
  result.iterations = position.iteration;
  result.images_seen = position.images_seen;
  result.final_size = size;
  return result;
}

}  // namespace sg
