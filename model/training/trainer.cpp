#include "model/training/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
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

// One sg_train run, phase by phase: the options checked against the LMDB,
// the models built (or restored), the outputs opened, then iterations until
// the schedule, --max_iter or a stop ends it, and the closing outputs.
class TrainingRun {
 public:
  explicit TrainingRun(const TrainOptions& options) : options_(options), reader_(options.lmdb), o_(options) {
    settle_options_against_dataset();
    build_models();
    if (!o_.resume.empty()) restore();
    if (o_.channels_last) to_channels_last(models_);
    meta_.model = o_.model;
    meta_.train_config = describe(o_);
    open_outputs();
    enter_stage(position_.schedule.step, position_.data_epoch, position_.data_batch);
  }

  TrainResult run() {
    const auto start = std::chrono::steady_clock::now();
    last_log_ = start;
    images_at_last_log_ = position_.images_seen;
    while (true) {
      if (o_.stop && o_.stop->load()) {
        result_.interrupted = true;
        break;
      }
      if (o_.max_iter > 0 && position_.iteration >= o_.max_iter) break;
      const IterationPlan plan = begin_iteration(o_.schedule, position_.schedule);
      if (plan.finished) break;
      if (plan.grew) grow(plan.step);
      position_.alpha = plan.alpha;
      train_one_iteration(plan.alpha);
      const std::optional<SwdResult> swd = evaluate_if_due(plan.alpha);
      if (position_.iteration % o_.log_every == 0 || swd) log_iteration(plan.alpha, swd);
      if (o_.sample_every > 0 && position_.iteration % o_.sample_every == 0) write_samples(plan.alpha);
      if (o_.checkpoint_every > 0 && position_.iteration % o_.checkpoint_every == 0)
        checkpoint(iteration_name(position_.iteration));
    }
    return finish();
  }

 private:
  // --max_size from the LMDB, every size of the schedule present, the image
  // channels and mirroring as the dataset has them.
  void settle_options_against_dataset() {
    const std::vector<int> sizes = reader_.sizes();
    if (sizes.empty()) throw InputError(options_.lmdb, "the LMDB holds no records");
    auto has_size = [&](int s) { return std::find(sizes.begin(), sizes.end(), s) != sizes.end(); };
    std::string size_list;
    for (int s : sizes) size_list += (size_list.empty() ? "" : " ") + std::to_string(s);
    if (o_.schedule.max_size == 0) o_.schedule.max_size = sizes.back();
    for (int s = o_.schedule.init_size; s <= o_.schedule.max_size; s *= 2)
      if (!has_size(s))
        throw InputError(options_.lmdb, "holds no " + std::to_string(s) + "x" + std::to_string(s) +
                                            " records, needed between --init_size and --max_size (it has: " +
                                            size_list + ")");
    o_.model.max_size = o_.schedule.max_size;
    // As the batch stream will deliver them.
    o_.model.image_channels = reader_.channels();
    // The dataset decides whether random mirroring is right for it.
    if (reader_.meta() && !reader_.meta()->config().random_mirror()) o_.mirror = false;
  }

  void build_models() {
    device_ = resolve_device(o_.device);
    configure_device(device_);
    torch::manual_seed(o_.seed);
    models_ = make_step_models(o_.model, learning_rate_for(o_.schedule, o_.schedule.init_size), device_);
    rng_.seed(o_.seed);
    position_ = fresh_position();
  }

  TrainPosition fresh_position() const {
    TrainPosition position;
    position.schedule = initial_schedule_state(o_.schedule);
    position.block_images.assign(static_cast<size_t>(o_.model.steps() + 1), 0);
    return position;
  }

  void restore() {
    const LoadReport loaded = load_checkpoint(o_.resume, models_, position_, rng_);
    if (!loaded.position) position_from_flags(loaded);
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
    if (!o_.on_note) return;
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
    const bool new_log = !fs::exists(run / "log.csv");
    csv_.open(run / "log.csv", std::ios::app);
    if (!csv_) throw OutputError(o_.out, "cannot write log.csv");
    if (new_log) csv_ << "iteration,images,size,alpha,lr,d_loss,g_loss,penalty,images_per_s,swd\n";
    events_ = std::make_unique<EventWriter>((run / "tensorboard").string());
    // From their own generator: the same grids whatever the training drew.
    auto sample_generator = at::detail::createCPUGenerator(o_.seed + 1);
    sample_z_ = torch::randn({o_.sample_rows * o_.sample_cols, o_.model.style_dim}, sample_generator).to(device_);
    monitor_ = std::make_unique<SwdMonitor>(reader_, o_.eval_images, o_.seed);
  }

  // The size, batch, learning rate and data stream of a stage.
  void enter_stage(int step, uint64_t epoch, uint64_t first_batch) {
    step_ = step;
    size_ = size_for_step(step);
    batch_size_ = batch_for(o_.schedule, size_);
    set_learning_rate(*models_.g_optimizer, learning_rate_for(o_.schedule, size_), true);
    set_learning_rate(*models_.d_optimizer, learning_rate_for(o_.schedule, size_), false);
    stream_.reset();
    BatchStreamOptions so;
    so.size = size_;
    so.batch = batch_size_;
    so.mirror = o_.mirror;
    so.seed = o_.seed + static_cast<uint64_t>(step) * 1000003ull;
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

    StepSettings settings;
    settings.step = step_;
    settings.alpha = alpha;
    settings.loss = o_.loss;
    settings.r1_gamma = o_.r1_gamma;
    settings.mixing = o_.mixing;
    settings.precision = o_.precision;
    for (int i = 0; i <= step_; ++i) position_.block_images[static_cast<size_t>(i)] += static_cast<uint64_t>(batch.count);
    settings.ema_decays = block_ema_decays(o_.ema, position_.block_images, batch.count);
    stats_ = train_step(models_, real, settings, rng_);
    end_iteration(position_.schedule, batch.count);
    ++position_.iteration;
    position_.images_seen += static_cast<uint64_t>(batch.count);
  }

  // SWD from 16x16 up, with its time left out of the training speed.
  std::optional<SwdResult> evaluate_if_due(double alpha) {
    if (o_.eval_every <= 0 || position_.iteration % o_.eval_every != 0) return std::nullopt;
    const auto eval_start = std::chrono::steady_clock::now();
    std::optional<SwdResult> swd = monitor_->measure(models_.ema, step_, alpha, device_);
    last_log_ += std::chrono::steady_clock::now() - eval_start;
    return swd;
  }

  // A row of log.csv, the TensorBoard scalars and the live line. The losses
  // are read back (a host sync) only here.
  void log_iteration(double alpha, const std::optional<SwdResult>& swd) {
    const float d = stats_.d_loss.item<float>(), g = stats_.g_loss.item<float>(), p = stats_.penalty.item<float>();
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
    csv_ << '\n';
    csv_.flush();
    events_->scalar("loss/discriminator", d, it);
    events_->scalar("loss/generator", g, it);
    events_->scalar("loss/penalty", p, it);
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
      const double eta =
          rate > 0 ? static_cast<double>(images_to_next_growth(o_.schedule, position_.schedule)) / rate : -1;
      std::fprintf(stderr, "\r%dx%d alpha %.3f it %lld  %.1f img/s  G %.3f D %.3f GP %.3f%s  next size in %s   ", size_,
                   size_, alpha, static_cast<long long>(it), rate, g, d, p, last_swd_.c_str(),
                   format_duration(eta).c_str());
      std::fflush(stderr);
    }
  }

  // The EMA generator on the fixed latents: samples/NNNNNN.png and TensorBoard.
  void write_samples(double alpha) {
    torch::NoGradGuard no_grad;
    auto images = tensor_to_images(models_.ema->forward(sample_z_, step_, alpha));
    Image8 grid = make_grid(images, o_.sample_cols);
    std::string png = encode_png(grid, 6);
    char name[64];
    std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(position_.iteration));
    write_file_atomically((fs::path(o_.out) / "samples" / name).string(), png, "sample grid");
    events_->image("samples", png, grid.width, grid.height, grid.channels, position_.iteration);
    events_->flush();
  }

  static std::string iteration_name(int64_t iteration) {
    char name[64];
    std::snprintf(name, sizeof name, "%06lld.ckpt", static_cast<long long>(iteration));
    return name;
  }

  void checkpoint(const std::string& name) {
    const fs::path folder = fs::path(o_.out) / "checkpoints";
    const std::string path = (folder / name).string();
    save_checkpoint({path, (folder / "latest.ckpt").string()}, models_, position_, rng_, meta_);
    result_.last_checkpoint = path;
  }

  // The last checkpoint, the loss plot and the sample animation.
  TrainResult finish() {
    if (o_.show_progress) std::fprintf(stderr, "\n");
    checkpoint(iteration_name(position_.iteration));
    csv_.close();
    result_.loss_plot = write_loss_plot(o_.out);
    result_.animation = write_sample_animation(o_.out);
    result_.iterations = position_.iteration;
    result_.images_seen = position_.images_seen;
    result_.final_size = size_;
    return result_;
  }

  const TrainOptions& options_;  // as given (error messages name its LMDB)
  LmdbReader reader_;
  TrainOptions o_;               // settled against the dataset and the resumed file
  torch::Device device_{torch::kCPU};
  StepModels models_{StyledGenerator(nullptr), Discriminator(nullptr), StyledGenerator(nullptr), nullptr, nullptr};
  std::mt19937_64 rng_;
  TrainPosition position_;
  CheckpointMeta meta_;

  std::ofstream csv_;
  std::unique_ptr<EventWriter> events_;
  torch::Tensor sample_z_;
  std::unique_ptr<SwdMonitor> monitor_;

  int step_ = 0, size_ = 0, batch_size_ = 0;
  std::unique_ptr<BatchStream> stream_;
  StepStats stats_;
  std::chrono::steady_clock::time_point last_log_;
  uint64_t images_at_last_log_ = 0;
  std::string last_swd_;
  TrainResult result_;
};

}  // namespace

TrainResult train(const TrainOptions& options) { return TrainingRun(options).run(); }

}  // namespace sg
