#include "model/training/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include <c10/core/DeviceGuard.h>
#include <stdexcept>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/event_writer.hpp"
#include "common/hashing.hpp"
#include "common/images/animation.hpp"
#include "common/images/chart.hpp"
#include "common/images/image_codec.hpp"
#include "common/images/image_grid.hpp"
#include "common/list_files.hpp"
#include "common/progress.hpp"
#include "datasets/batch_stream.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/core/batch_upload.hpp"
#include "model/core/drawing.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/swd_monitor.hpp"
#include "model/training/gan_factory.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

std::string describe(const TrainOptions& o) {
  std::ostringstream s;
  s << "arch=" << architecture_name(o.arch) << " lmdb=" << o.lmdb << " init_size=" << o.schedule.init_size << " max_size=" << o.schedule.max_size
    << " phase=" << o.schedule.phase << " sched=" << o.schedule.sched << " lr=" << o.schedule.lr
    << " batch=" << o.schedule.batch << " mixing=" << o.mixing << " loss=" << (o.loss == GanLoss::R1 ? "r1" : "wgan-gp") << " r1_gamma=" << o.r1_gamma
    << " seed=" << o.seed << " mirror=" << o.mirror << " precision=" << precision_name(o.precision)
    << " channels_last=" << o.channels_last << " ema_decay=" << o.ema.decay << " ema_rampup=" << o.ema.rampup;
  if (o.collectives && o.collectives->size() > 1) s << " world_size=" << o.collectives->size();
  if (o.arch == Architecture::StyleGan2)
    s << " channel_multiplier=" << o.channel_multiplier << " path_regularize=" << o.regularization.path_weight
      << " d_reg_every=" << o.regularization.d_every << " g_reg_every=" << o.regularization.g_every
      << " max_iter=" << o.max_iter;
  if (o.augment.enabled) {
    s << " augment=1";
    if (o.augment.fixed_p)
      s << " augment_p=" << *o.augment.fixed_p;
    else
      s << " ada_target=" << o.augment.target << " ada_length=" << o.augment.length << " ada_every=" << o.augment.every;
  }
  return s.str();
}

// loss.png from log.csv: D and G losses, the penalty, SWD and ADA's p when
// logged, each in its own panel over iterations (images seen beneath), the
// growth steps marked with the size they started.
std::string write_loss_plot(const fs::path& run) {
  std::ifstream csv(run / "log.csv");
  std::string line;
  std::getline(csv, line);
  std::map<std::string, size_t> column;
  {
    std::stringstream header(line);
    size_t i = 0;
    for (std::string name; std::getline(header, name, ',');) column[name] = i++;
  }
  std::map<std::string, std::vector<double>> values;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (cells.size() < 8) continue;
    for (const auto& [name, i] : column)
      values[name].push_back(i < cells.size() && !cells[i].empty() ? std::strtod(cells[i].c_str(), nullptr) : nan);
  }
  Chart chart;
  chart.title = "sg_train " + run.filename().string();
  chart.secondary_label = "images";
  chart.secondary_x = values["iteration"];
  chart.secondary_values = values["images"];
  const std::vector<double>& x = values["iteration"];
  auto curve = [&](const std::string& label, const std::string& name, uint8_t r, uint8_t g, uint8_t b, bool points = false) {
    return ChartCurve{label, x, values[name], r, g, b, points};
  };
  chart.panels.push_back({"loss", {curve("D loss", "d_loss", 200, 30, 30), curve("G loss", "g_loss", 30, 60, 200)}});
  chart.panels.push_back({"penalty", {curve("penalty (GP / R1)", "penalty", 20, 140, 60)}});
  auto logged = [&](const std::string& name) {
    const auto& v = values[name];
    return std::any_of(v.begin(), v.end(), [](double d) { return std::isfinite(d); });
  };
  if (logged("swd")) chart.panels.push_back({"SWD x1e3", {curve("SWD (EMA)", "swd", 120, 40, 160, true)}});
  if (logged("augment_p"))
    chart.panels.push_back({"augmentation", {curve("ADA p", "augment_p", 220, 120, 0), curve("r_t", "augment_r_t", 110, 110, 110)}});
  const std::vector<double>& sizes = values["size"];
  for (size_t i = 1; i < sizes.size() && i < x.size(); ++i)
    if (sizes[i] != sizes[i - 1]) {
      const int s = static_cast<int>(sizes[i]);
      chart.markers.push_back({x[i], std::to_string(s) + "x" + std::to_string(s)});
    }
  const std::string path = (run / "loss.png").string();
  write_png(path, render_chart(chart));
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

// One sg_train run, phase by phase: the options checked against the LMDB,
// the models built (or restored), the outputs opened, then iterations until
// the schedule, --max_iter or a stop ends it, and the closing outputs.
class TrainingRun {
 public:
  explicit TrainingRun(const TrainOptions& options) : options_(options), reader_(options.lmdb), o_(options) {
    if (o_.collectives && o_.collectives->size() > 1) {
      world_ = o_.collectives;
      rank_ = world_->rank();
      world_size_ = world_->size();
    }
    settle_options_against_dataset();
    build_models();
    if (!o_.resume.empty()) restore();
    settle_augmentation();
    if (o_.channels_last) gan_->to_channels_last();
    if (world_) join_world();
    train_config_ = describe(o_);
    if (writer()) open_outputs();
    enter_stage(position_.schedule.step, position_.data_epoch, position_.data_batch);
  }

  TrainResult run() {
    try {
      return run_iterations();
    } catch (const NonFiniteOutput& e) {
      // No picture of it and no further checkpoint: the run stops here.
      throw std::runtime_error(
          o_.out + ": training diverged by iteration " + std::to_string(position_.iteration) + ": " + e.what() +
          (result_.last_checkpoint.empty() ? "" : "; the last checkpoint written before it: " + result_.last_checkpoint) +
          (o_.resume.empty() ? "" : "; resumed from " + o_.resume));
    }
  }

 private:
  TrainResult run_iterations() {
    const auto start = std::chrono::steady_clock::now();
    last_log_ = start;
    images_at_last_log_ = position_.images_seen;
    while (true) {
      bool stop = o_.stop && o_.stop->load();
      // Every rank stops at the same iteration, whichever was asked.
      if (world_) stop = any_rank(*world_, stop);
      if (stop) {
        result_.interrupted = true;
        break;
      }
      if (o_.max_iter > 0 && position_.iteration >= o_.max_iter) break;
      const IterationPlan plan = begin_iteration(o_.schedule, position_.schedule);
      if (plan.finished) break;
      if (plan.grew) grow(plan.step);
      position_.alpha = plan.alpha;
      train_one_iteration(plan.alpha);
      const bool evaluation_due = o_.eval_every > 0 && position_.iteration % o_.eval_every == 0;
      const std::optional<SwdResult> swd = evaluation_due && writer() ? evaluate(plan.alpha) : std::nullopt;
      // A row takes an all-reduce, so every rank must know when one is due:
      // an evaluation's row only where rank 0 measured (it does not at 8x8).
      bool measured = swd.has_value();
      if (evaluation_due && world_) measured = any_rank(*world_, measured);
      if (position_.iteration % o_.log_every == 0 || measured) log_iteration(plan.alpha, swd);
      if (writer() && o_.sample_every > 0 && position_.iteration % o_.sample_every == 0) write_samples(plan.alpha);
      if (o_.checkpoint_every > 0 && position_.iteration % o_.checkpoint_every == 0)
        checkpoint(iteration_name(position_.iteration));
    }
    return finish();
  }

  bool writer() const { return rank_ == 0; }

  // Rank 0's weights on every rank, the step's averaging hooks, and each
  // rank's own random draws.
  void join_world() {
    averager_ = join_data_parallel(*world_, *gan_, device_);
    reseed_rank();
  }

  // Latents, noise, mixing and augmentation per rank: rank 0 keeps the
  // run's own streams (one process trains exactly as before); another rank
  // draws from a seed of (seed, iteration, rank), taken afresh at every
  // checkpoint, so that a run resumed from one continues as it would have.
  void reseed_rank() {
    if (rank_ == 0) return;
    const uint64_t values[3] = {o_.seed, static_cast<uint64_t>(position_.iteration), static_cast<uint64_t>(rank_)};
    const uint64_t seed = fnv1a64(values, sizeof values);
    torch::manual_seed(seed);
    rng_.seed(seed ^ 0x72616e6b73656564ull);
  }

  // --max_size from the LMDB, every size of the schedule present, the image
  // channels and mirroring as the dataset has them; every stage's batch
  // splits evenly over the ranks.
  void settle_options_against_dataset() {
    const std::vector<int> sizes = reader_.sizes();
    if (sizes.empty()) throw InputError(options_.lmdb, "the LMDB holds no records");
    auto has_size = [&](int s) { return std::find(sizes.begin(), sizes.end(), s) != sizes.end(); };
    std::string size_list;
    for (int s : sizes) size_list += (size_list.empty() ? "" : " ") + std::to_string(s);
    if (o_.schedule.max_size == 0) o_.schedule.max_size = sizes.back();
    // Before anything is sized by the schedule: a first stage past the last
    // one indexed blocks the networks do not have.
    if (o_.arch == Architecture::StyleGan && o_.schedule.init_size > o_.schedule.max_size)
      throw std::invalid_argument("--init_size " + std::to_string(o_.schedule.init_size) + " is larger than the last size, " +
                                  std::to_string(o_.schedule.max_size) +
                                  (options_.schedule.max_size > 0 ? " (--max_size)" : " (the LMDB's largest; --max_size)"));
    if (o_.arch == Architecture::StyleGan2) {
      // One size, trained from the first iteration at alpha 1.
      const int size = o_.schedule.max_size;
      if (size < 8 || size > 1024 || (size & (size - 1)) != 0)
        throw std::invalid_argument("--size " + std::to_string(size) + " is not a power of two from 8 to 1024");
      // D's minibatch standard deviation takes groups of 4 (or the whole
      // batch when smaller), in the D steps and in the path-length step.
      const int batch = batch_for(o_.schedule, size) / world_size_;
      const int path_batch = std::max(1, batch / std::max(1, o_.regularization.path_batch_shrink));
      for (int b : {batch, path_batch})
        if (b % std::min(b, 4) != 0)
          throw std::invalid_argument("a batch of " + std::to_string(b) + (b == batch ? "" : " (the path-length step's)") +
                                      (world_size_ > 1 ? " per process" : "") +
                                      " does not divide into the discriminator's groups of 4: use a multiple of 4" +
                                      (world_size_ > 1 ? " per process" : ""));
      o_.schedule.init_size = size;
      o_.schedule.progressive = false;
      if (o_.max_iter == 0) o_.max_iter = 800000;
    }
    for (int s = o_.schedule.init_size; s <= o_.schedule.max_size; s *= 2)
      if (batch_for(o_.schedule, s) % world_size_ != 0)
        throw std::invalid_argument("the batch of " + std::to_string(batch_for(o_.schedule, s)) + " at " +
                                    std::to_string(s) + "x" + std::to_string(s) + " does not split evenly over " +
                                    std::to_string(world_size_) + " processes (--batch and the --sched batches are " +
                                    "global): use a multiple of " + std::to_string(world_size_));
    const bool fixed = o_.arch == Architecture::StyleGan2;
    for (int s = o_.schedule.init_size; s <= o_.schedule.max_size; s *= 2)
      if (!has_size(s))
        throw InputError(options_.lmdb, "holds no " + std::to_string(s) + "x" + std::to_string(s) + " records, needed " +
                                            (fixed ? std::string("for --size") : "between --init_size and --max_size") +
                                            " (it has: " + size_list + ")");
    o_.model.max_size = o_.schedule.max_size;
    // As the batch stream will deliver them.
    o_.model.image_channels = reader_.channels();
    // The dataset decides whether random mirroring is right for it.
    if (reader_.meta() && !reader_.meta()->config().random_mirror()) o_.mirror = false;
  }

  void build_models() {
    device_ = resolve_device(o_.device);
    if (device_.is_cuda() && o_.device_index >= 0) {
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(o_.device_index));
      device_guard_.emplace(device_);
    }
    configure_device(device_);
    torch::manual_seed(o_.seed);
    gan_ = make_gan();
    rng_.seed(o_.seed);
    position_ = fresh_position();
  }

  std::unique_ptr<TrainableGan> make_gan() const {
    GanSpec spec;
    spec.arch = o_.arch;
    spec.model = o_.model;
    spec.channel_multiplier = o_.channel_multiplier;
    spec.lr = learning_rate_for(o_.schedule, o_.schedule.init_size);
    spec.batch = batch_for(o_.schedule, o_.schedule.max_size);
    spec.loss = o_.loss;
    spec.r1_gamma = o_.r1_gamma;
    spec.mixing = o_.mixing;
    spec.regularization = o_.regularization;
    spec.ema = o_.ema;
    spec.precision = o_.precision;
    return sg::make_gan(spec, device_);
  }

  // A fixed --augment_p holds from the first iteration, a resumed p
  // otherwise; without --augment nothing is augmented, whatever the file had.
  void settle_augmentation() {
    const std::string problem = check_augment_settings(o_.augment);
    if (!problem.empty()) throw std::invalid_argument(problem);
    if (!o_.augment.enabled) {
      position_.augment = AugmentState{};
    } else if (o_.augment.fixed_p) {
      position_.augment.p = *o_.augment.fixed_p;
    }
  }

  TrainPosition fresh_position() const {
    TrainPosition position;
    position.schedule = initial_schedule_state(o_.schedule);
    position.block_images.assign(static_cast<size_t>(o_.model.steps() + 1), 0);
    return position;
  }

  void restore() {
    const LoadReport loaded = gan_->load(o_.resume, position_, rng_);
    if (loaded.position) return;
    if (o_.arch == Architecture::StyleGan) {
      position_from_flags(loaded);
    } else if (o_.on_note && writer()) {
      o_.on_note(o_.resume + ": " + loaded.note + "; continuing from iteration " + std::to_string(position_.iteration));
    }
  }

  // A file without a schedule position (a reference checkpoint): by default
  // the stage after the largest size it trained (as its train_step-N name
  // means), with a fade-in when that block is new, at alpha 1 when it was
  // trained.
  void position_from_flags(const LoadReport& loaded) {
    const int max_step = step_for_size(o_.schedule.max_size);
    const int start = o_.init_size_given ? step_for_size(o_.schedule.init_size)
                                         : std::min(loaded.trained_step + 1, max_step);
    o_.schedule.init_size = size_for_step(start);
    position_ = fresh_position();
    position_.schedule.first_stage_without_fade = start <= loaded.trained_step;
    for (int i = 0; i <= std::min(loaded.trained_step, o_.model.steps()); ++i)
      position_.block_images[static_cast<size_t>(i)] = kFullyRampedImages;
    if (!o_.on_note || !writer()) return;
    const std::string size = std::to_string(o_.schedule.init_size) + "x" + std::to_string(o_.schedule.init_size);
    const int trained = size_for_step(loaded.trained_step);
    o_.on_note(o_.resume + ": " + loaded.note + "; trained to " + std::to_string(trained) + "x" +
               std::to_string(trained) + ", so starting at " + size +
               (position_.schedule.first_stage_without_fade ? " at alpha 1" : " with a fade-in") +
               " from iteration 0" + (o_.init_size_given ? " (--init_size)" : " (--init_size to choose)"));
  }

  // The run folder's checkpoints/, samples/, log.csv (appended on resume),
  // TensorBoard events, and the fixed latents of every sample grid.
  void open_outputs() {
    const fs::path run(o_.out);
    create_output_folder((run / "checkpoints").string());
    create_output_folder((run / "samples").string());
    create_output_folder((run / "samples" / "raw").string());
    const bool new_log = !fs::exists(run / "log.csv");
    csv_.open(run / "log.csv", std::ios::app);
    if (!csv_) throw OutputError(o_.out, "cannot write log.csv");
    if (new_log) {
      csv_ << "iteration,images,size,alpha,lr,d_loss,g_loss,penalty,images_per_s,swd";
      for (const std::string& name : gan_->extra_scalar_names()) csv_ << ',' << name;
      if (o_.augment.enabled) csv_ << ",augment_p,augment_r_t";
      csv_ << '\n';
    }
    events_ = std::make_unique<EventWriter>((run / "tensorboard").string());
    // From their own generator: the same grids whatever the training drew.
    auto sample_generator = at::detail::createCPUGenerator(o_.seed + 1);
    sample_z_ = torch::randn({o_.sample_rows * o_.sample_cols, gan_->style_dim()}, sample_generator).to(device_);
    monitor_ = std::make_unique<SwdMonitor>(reader_, o_.eval_images, o_.seed);
  }

  // The size, batch, learning rate and data stream of a stage.
  void enter_stage(int step, uint64_t epoch, uint64_t first_batch) {
    step_ = step;
    size_ = size_for_step(step);
    batch_size_ = batch_for(o_.schedule, size_);
    gan_->set_learning_rate(learning_rate_for(o_.schedule, size_));
    stream_.reset();
    BatchStreamOptions so;
    so.size = size_;
    so.batch = batch_size_;
    so.shards = world_size_;
    so.shard = rank_;
    so.mirror = o_.mirror;
    so.seed = o_.seed + static_cast<uint64_t>(step) * 1000003ull;
    so.threads = o_.loader_threads;
    so.start_epoch = epoch;
    so.start_batch = first_batch;
    stream_ = std::make_unique<BatchStream>(reader_, so);
  }

  // The finished stage's checkpoint, named as the reference's train_step-N,
  // then the next stage from its first batch.
  void grow(int next_step) {
    char name[64];
    std::snprintf(name, sizeof name, "train_step-%d.ckpt", next_step);
    position_.data_epoch = position_.data_batch = 0;
    checkpoint(name);
    enter_stage(next_step, 0, 0);
  }

  void train_one_iteration(double alpha) {
    Batch batch = stream_->next();
    position_.data_epoch = batch.epoch;
    position_.data_batch = batch.batch_in_epoch + 1;
    if (position_.data_batch == stream_->batches_per_epoch()) {
      position_.data_batch = 0;
      ++position_.data_epoch;
    }
    const torch::Tensor real = upload_batch(batch, device_, o_.channels_last);
    // Every rank's share of the global batch.
    const int images = batch.count * world_size_;

    scalars_ = gan_->train_iteration(real, images, step_, alpha, position_, rng_);
    if (o_.augment.enabled) gather_real_signs(images);
    end_iteration(position_.schedule, images);
    ++position_.iteration;
    position_.images_seen += static_cast<uint64_t>(images);
  }

  // ADA's signs stay on the device until an adjustment is due (one host
  // read per --ada_every images, not per iteration).
  void gather_real_signs(int count) {
    pending_signs_ = pending_signs_.defined() ? pending_signs_ + scalars_.real_signs : scalars_.real_signs;
    pending_images_ += count;
    if (position_.augment.images + pending_images_ >= o_.augment.every) flush_real_signs();
  }

  // Hands the gathered signs (every rank's) to the controller (which adjusts
  // p once --ada_every images have gathered).
  void flush_real_signs() {
    if (!pending_signs_.defined()) return;
    if (world_) {
      std::vector<torch::Tensor> sums{pending_signs_.to(torch::kDouble)};
      world_->sum(sums);
      pending_signs_ = sums[0];
    }
    observe_real_signs(position_.augment, pending_signs_.item<double>(), pending_images_, o_.augment);
    pending_signs_ = torch::Tensor();
    pending_images_ = 0;
  }

  // SWD from 16x16 up, with its time left out of the training speed.
  std::optional<SwdResult> evaluate(double alpha) {
    const auto eval_start = std::chrono::steady_clock::now();
    std::optional<SwdResult> swd = monitor_->measure(gan_->average_drawer(step_, alpha, device_), size_);
    last_log_ += std::chrono::steady_clock::now() - eval_start;
    return swd;
  }

  // A row of log.csv, the TensorBoard scalars and the live line. The losses
  // are read back (a host sync) only here; across processes they are the
  // mean over ranks, and the other ranks stop after averaging them.
  void log_iteration(double alpha, const std::optional<SwdResult>& swd) {
    std::vector<double> losses{scalars_.d_loss.item<double>(), scalars_.g_loss.item<double>(),
                               scalars_.penalty.item<double>()};
    for (const torch::Tensor& t : scalars_.extra) losses.push_back(t.item<double>());
    if (world_) losses = average_values(*world_, losses, device_);
    if (!writer()) return;
    const auto d = static_cast<float>(losses[0]), g = static_cast<float>(losses[1]), p = static_cast<float>(losses[2]);
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_log_).count();
    const double rate = seconds > 0 ? static_cast<double>(position_.images_seen - images_at_last_log_) / seconds : 0;
    last_log_ = now;
    images_at_last_log_ = position_.images_seen;
    const double lr = learning_rate_for(o_.schedule, size_);
    const int64_t it = position_.iteration;
    csv_ << it << ',' << position_.images_seen << ',' << size_ << ',' << alpha << ',' << lr << ',' << d << ',' << g
         << ',' << p << ',' << rate << ',';
    if (swd) csv_ << swd->average;
    const std::vector<std::string> extra_names = gan_->extra_scalar_names();
    std::vector<float> extra;
    for (size_t i = 3; i < losses.size(); ++i) extra.push_back(static_cast<float>(losses[i]));
    for (float v : extra) csv_ << ',' << v;
    if (o_.augment.enabled) csv_ << ',' << position_.augment.p << ',' << position_.augment.r_t;
    csv_ << '\n';
    csv_.flush();
    events_->scalar("loss/discriminator", d, it);
    events_->scalar("loss/generator", g, it);
    events_->scalar("loss/penalty", p, it);
    for (size_t i = 0; i < extra.size() && i < extra_names.size(); ++i) events_->scalar("loss/" + extra_names[i], extra[i], it);
    if (o_.augment.enabled) {
      events_->scalar("augment/p", static_cast<float>(position_.augment.p), it);
      events_->scalar("augment/r_t", static_cast<float>(position_.augment.r_t), it);
    }
    events_->scalar("schedule/alpha", static_cast<float>(alpha), it);
    events_->scalar("schedule/resolution", static_cast<float>(size_), it);
    events_->scalar("schedule/lr", static_cast<float>(lr), it);
    events_->scalar("speed/images_per_s", static_cast<float>(rate), it);
    if (swd) {
      events_->scalar("eval/swd", static_cast<float>(swd->average), it);
      for (size_t l = 0; l < swd->resolutions.size(); ++l)
        events_->scalar("eval/swd_" + std::to_string(swd->resolutions[l]), static_cast<float>(swd->per_level[l]), it);
      char text[32];
      std::snprintf(text, sizeof text, "  SWD %.2f", swd->average);
      last_swd_ = text;
    }
    events_->flush();
    if (o_.show_progress) {
      // ETA to the next growth, or with a fixed size to --max_iter.
      const bool growing = o_.schedule.progressive;
      const double images_left =
          growing ? static_cast<double>(images_to_next_growth(o_.schedule, position_.schedule))
                  : static_cast<double>(std::max<int64_t>(0, o_.max_iter - it)) * batch_size_;
      const double eta = rate > 0 ? images_left / rate : -1;
      std::string penalties = (o_.arch == Architecture::StyleGan2 && o_.loss == GanLoss::R1 ? "  R1 " : "  GP ") +
                              std::to_string(p).substr(0, 6);
      for (size_t i = 0; i < extra.size() && i < extra_names.size() && i < 2; ++i)
        penalties += "  " + extra_names[i] + " " + std::to_string(extra[i]).substr(0, 6);
      if (o_.augment.enabled) {
        char ada[48];
        std::snprintf(ada, sizeof ada, "  p %.3f r_t %.2f", position_.augment.p, position_.augment.r_t);
        penalties += ada;
      }
      std::fprintf(stderr, "\r%dx%d alpha %.3f it %lld  %.1f img/s  G %.3f D %.3f%s%s  %s %s   ", size_, size_, alpha,
                   static_cast<long long>(it), rate, g, d, penalties.c_str(), last_swd_.c_str(),
                   growing ? "next size in" : "done in", format_duration(eta).c_str());
      std::fflush(stderr);
    }
  }

  // The EMA generator on the fixed latents: samples/NNNNNN.png (tiles
  // scaled up to at least 64 pixels, under a caption with the iteration,
  // size and alpha; also the TensorBoard image and the GIF's frames) and
  // samples/raw/NNNNNN.png at the training size.
  void write_samples(double alpha) {
    torch::NoGradGuard no_grad;
    auto images = tensor_to_images(gan_->draw_average(sample_z_, step_, alpha));
    char name[64];
    std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(position_.iteration));
    const fs::path samples = fs::path(o_.out) / "samples";
    write_file_atomically((samples / "raw" / name).string(), encode_png(make_grid(images, o_.sample_cols), 6),
                          "sample grid");
    const int factor = readable_factor(size_);
    for (Image8& image : images) image = scale_up(image, factor);
    char caption[128];
    std::snprintf(caption, sizeof caption, "iteration %lld   %dx%d   alpha %.3f   %s images",
                  static_cast<long long>(position_.iteration), size_, size_, alpha,
                  short_number(static_cast<double>(position_.images_seen)).c_str());
    // A mid-grey separator: scans have black backgrounds.
    const Image8 grid = add_caption(make_grid(images, o_.sample_cols, 2, 128), caption);
    const std::string png = encode_png(grid, 6);
    write_file_atomically((samples / name).string(), png, "sample grid");
    events_->image("samples", png, grid.width, grid.height, grid.channels, position_.iteration);
    events_->flush();
  }

  static std::string iteration_name(int64_t iteration) {
    char name[64];
    std::snprintf(name, sizeof name, "%06lld.ckpt", static_cast<long long>(iteration));
    return name;
  }

  // Every rank comes here at the same iterations: rank 0 writes, the others
  // take their fresh random streams.
  void checkpoint(const std::string& name) {
    flush_real_signs();
    if (!writer()) {
      reseed_rank();
      return;
    }
    const fs::path folder = fs::path(o_.out) / "checkpoints";
    const std::string path = (folder / name).string();
    gan_->save({path, (folder / "latest.ckpt").string()}, position_, rng_, train_config_);
    result_.last_checkpoint = path;
    // The plot as it stands, beside every checkpoint (the run may not end).
    result_.loss_plot = write_loss_plot(o_.out);
  }

  // The last checkpoint (with it the loss plot) and the sample animation.
  TrainResult finish() {
    if (o_.show_progress && writer()) std::fprintf(stderr, "\n");
    checkpoint(iteration_name(position_.iteration));
    if (writer()) {
      csv_.close();
      result_.animation = write_sample_animation(o_.out);
    }
    if (world_) confirm_ranks_agree();
    result_.iterations = position_.iteration;
    result_.images_seen = position_.images_seen;
    result_.final_size = size_;
    return result_;
  }

  // Every rank ends with the same state: the digests compared.
  void confirm_ranks_agree() {
    result_.gradient_reduce = averager_->stats();
    std::vector<torch::Tensor> state = gan_->state_tensors(true);
    state.push_back(torch::tensor({position_.augment.p, position_.augment.r_t, static_cast<double>(position_.images_seen)},
                                  torch::kDouble));
    result_.state_digest = state_digest(state);
    if (!ranks_agree(*world_, result_.state_digest))
      throw DistributedError("rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) +
                             ": the ranks' weights differ after " + std::to_string(position_.iteration) +
                             " iterations (a nondeterministic all-reduce or a rank that skipped a step)");
  }

  const TrainOptions& options_;  // as given (error messages name its LMDB)
  LmdbReader reader_;
  TrainOptions o_;               // settled against the dataset and the resumed file
  torch::Device device_{torch::kCPU};
  std::optional<c10::DeviceGuard> device_guard_;  // this process's CUDA device, current for the run
  Collectives* world_ = nullptr;                   // set across processes only
  int rank_ = 0, world_size_ = 1;
  std::unique_ptr<GradientAverager> averager_;
  std::unique_ptr<TrainableGan> gan_;
  std::mt19937_64 rng_;
  TrainPosition position_;
  std::string train_config_;  // the flags as text, stored in every checkpoint

  std::ofstream csv_;
  std::unique_ptr<EventWriter> events_;
  torch::Tensor sample_z_;
  std::unique_ptr<SwdMonitor> monitor_;

  int step_ = 0, size_ = 0, batch_size_ = 0;
  std::unique_ptr<BatchStream> stream_;
  IterationScalars scalars_;
  torch::Tensor pending_signs_;  // ADA: sign(D(real)) summed on the device since the last flush
  int64_t pending_images_ = 0;
  std::chrono::steady_clock::time_point last_log_;
  uint64_t images_at_last_log_ = 0;
  std::string last_swd_;
  TrainResult result_;
};

}  // namespace

TrainResult train(const TrainOptions& options) { return TrainingRun(options).run(); }

}  // namespace sg
