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
#include "datasets/dataset_card.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/augment/sign_gatherer.hpp"
#include "model/core/batch_upload.hpp"
#include "model/core/drawing.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/image_set.hpp"
#include "model/evaluation/swd_monitor.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/run_log.hpp"
#include "model/training/run_settings.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {


// One sg_train run, phase by phase: the options checked against the LMDB,
// the models built (or restored), the outputs opened, then iterations until
// the schedule, --max_iter or a stop ends it, and the closing outputs.
class TrainingRun {
 public:
  explicit TrainingRun(const TrainOptions& options)
      : reader_(options.lmdb),
        world_(options.collectives && options.collectives->size() > 1 ? options.collectives : nullptr),
        rank_(world_ ? world_->rank() : 0),
        world_size_(world_ ? world_->size() : 1),
        o_(settle_against_dataset(options, reader_, world_size_)) {
    build_models();
    if (!o_.resume.empty()) restore();
    settle_augmentation();
    // The checkpoints name the data they trained on (the last, after a resume on other data).
    const std::string data_card = reader_.meta() ? dataset_card_digest(*reader_.meta()) : "";
    if (!position_.data_card.empty() && !data_card.empty() && position_.data_card != data_card && o_.on_note &&
        writer())
      o_.on_note(o_.resume + ": trained so far on data with card " + position_.data_card + "; " + o_.lmdb +
                 " has card " + data_card + " (other data, or the same prepared again): its checkpoints will name " +
                 "the new card");
    position_.data_card = data_card;
    if (o_.channels_last) gan_->to_channels_last();
    if (world_) join_world();
    train_config_ = describe_settings(o_);
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
      const Evaluation evaluation = evaluation_due && writer() ? evaluate(plan.alpha) : Evaluation{};
      // A row takes an all-reduce, so every rank must know when one is due:
      // an evaluation's row only where rank 0 measured (it does not at 8x8).
      bool measured = evaluation.measured();
      if (evaluation_due && world_) measured = any_rank(*world_, measured);
      if (position_.iteration % o_.log_every == 0 || measured) log_iteration(plan.alpha, evaluation);
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

  // The LMDB's classes and how the generator draws them: as often as the
  // training split holds each (its counts in the meta), or all alike.
  void add_classes(GanSpec& spec) const {
    if (o_.arch != Architecture::StyleGan2)
      throw std::invalid_argument("--cond trains StyleGAN2 only: add --arch stylegan2");
    if (!reader_.has_labels())
      throw InputError(o_.lmdb, "holds no class labels for --cond: give its dataset config a `labels` rule and run sg_prep again");
    spec.class_names = reader_.class_names();
    std::vector<double> counts(spec.class_names.size(), 0);
    for (const SplitCount& count : reader_.meta()->counts())
      if (count.split() == TRAIN)
        for (int c = 0; c < count.class_records_size() && c < static_cast<int>(counts.size()); ++c)
          counts[static_cast<size_t>(c)] = static_cast<double>(count.class_records(c));
    for (size_t c = 0; c < counts.size(); ++c) {
      if (counts[c] == 0 && !o_.balance)
        throw InputError(o_.lmdb, "class " + spec.class_names[c] + " has no training records (--balance would draw it anyway)");
      spec.class_weights.push_back(o_.balance ? 1.0 : counts[c]);
    }
  }

  void build_models() {
    device_ = resolve_device(o_.device);
    if (device_.is_cuda() && o_.device_index >= 0) {
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(o_.device_index));
      device_guard_.emplace(device_);
    }
    configure_device(device_);
    torch::manual_seed(o_.seed);
    GanSpec spec = gan_spec(o_);
    if (o_.conditional) add_classes(spec);
    gan_ = make_gan(spec, device_);
    rng_.seed(o_.seed);
    position_ = initial_position(o_);
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



  void restore() {
    const LoadReport loaded = gan_->load(o_.resume, position_, rng_);
    if (loaded.position) return;
    std::string note = o_.resume + ": " + loaded.note + "; continuing from iteration " + std::to_string(position_.iteration);
    if (o_.arch == Architecture::StyleGan) position_ = position_after_reference(o_, loaded, &note);
    if (o_.on_note && writer()) o_.on_note(note);
  }

  // The run folder's checkpoints/, samples/, its log, and the fixed
  // latents of every sample grid.
  void open_outputs() {
    const fs::path run(o_.out);
    create_output_folder((run / "checkpoints").string());
    create_output_folder((run / "samples").string());
    create_output_folder((run / "samples" / "raw").string());
    // What an earlier run killed mid-write left: gone before this one starts.
    for (const char* folder : {"checkpoints", "samples", "samples/raw"})
      remove_abandoned_temporaries((run / folder).string());
    log_ = std::make_unique<RunLog>(o_.out, gan_->extra_scalar_names(), o_.augment.enabled, o_.show_progress,
                                    metric_names(o_.feature_metrics));
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
    so.labels = o_.conditional;
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

    const torch::Tensor labels = batch.labels.empty() ? torch::Tensor() : upload_labels(batch, device_);
    scalars_ = gan_->train_iteration(real, labels, images, step_, alpha, position_, rng_);
    if (o_.augment.enabled)
      signs_.add(scalars_.real_signs, images, position_.augment, o_.augment, sum_over_ranks());
    end_iteration(position_.schedule, images);
    ++position_.iteration;
    position_.images_seen += static_cast<uint64_t>(images);
  }

  // ADA's controller sees every rank's signs (SignGatherer).
  SignGatherer::SumOverRanks sum_over_ranks() const {
    if (!world_) return {};
    return [world = world_](std::vector<torch::Tensor>& sums) { world->sum(sums); };
  }

  struct Evaluation {
    std::optional<SwdResult> swd;
    std::vector<double> metrics;  // one per metric_names(o_.feature_metrics); empty: none measured
    bool measured() const { return swd.has_value() || !metrics.empty(); }
  };

  // SWD from 16x16 up and the feature metrics, with their time left out of
  // the training speed. The feature metrics draw the same latents every
  // time (their own generator), against every real image at this size.
  Evaluation evaluate(double alpha) {
    const auto eval_start = std::chrono::steady_clock::now();
    Evaluation evaluation;
    const SeededDrawer draw = gan_->average_drawer(step_, alpha, device_);
    if (o_.eval_swd) evaluation.swd = monitor_->measure(draw, size_);
    if (o_.feature_metrics.any()) {
      const auto real = lmdb_images(reader_, size_);
      FeatureRun run;
      run.real = real.get();
      run.generated = o_.eval_images;
      run.seed = o_.seed;
      run.device = device_.is_cuda() ? "cuda" : "cpu";
      torch::Generator latents = at::detail::createCPUGenerator(o_.seed + 7);
      const auto reports = evaluate_features(o_.feature_metrics, run, [&](int64_t count) { return draw(count, latents); });
      evaluation.metrics = metric_values(o_.feature_metrics, reports);
    }
    last_log_ += std::chrono::steady_clock::now() - eval_start;
    return evaluation;
  }

  // A row of the run's log. The losses are read back (a host sync) only
  // here; across processes they are the mean over ranks, and the other
  // ranks stop after averaging them.
  void log_iteration(double alpha, const Evaluation& evaluation) {
    LogRow row;
    row.losses = {scalars_.d_loss.item<double>(), scalars_.g_loss.item<double>(), scalars_.penalty.item<double>()};
    for (const torch::Tensor& t : scalars_.extra) row.losses.push_back(t.item<double>());
    if (world_) row.losses = average_values(*world_, row.losses, device_);
    if (!writer()) return;
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_log_).count();
    row.images_per_second =
        seconds > 0 ? static_cast<double>(position_.images_seen - images_at_last_log_) / seconds : 0;
    last_log_ = now;
    images_at_last_log_ = position_.images_seen;
    row.iteration = position_.iteration;
    row.images_seen = position_.images_seen;
    row.size = size_;
    row.alpha = alpha;
    row.lr = learning_rate_for(o_.schedule, size_);
    row.swd = evaluation.swd;
    row.metrics = evaluation.metrics;
    if (o_.augment.enabled) row.augment = &position_.augment;
    LiveLine live;
    live.penalty_label = o_.arch == Architecture::StyleGan2 && o_.loss == GanLoss::R1 ? "  R1 " : "  GP ";
    // ETA to the next growth, or with a fixed size to --max_iter.
    live.growing = o_.schedule.progressive;
    const double images_left =
        live.growing ? static_cast<double>(images_to_next_growth(o_.schedule, position_.schedule))
                     : static_cast<double>(std::max<int64_t>(0, o_.max_iter - row.iteration)) * batch_size_;
    live.eta_seconds = row.images_per_second > 0 ? images_left / row.images_per_second : -1;
    log_->write(row, live);
  }

  // The average generator on the fixed latents (RunLog::write_samples).
  void write_samples(double alpha) {
    torch::NoGradGuard no_grad;
    log_->write_samples(tensor_to_images(gan_->draw_average(sample_z_, step_, alpha)), o_.sample_cols,
                        position_.iteration, size_, alpha, position_.images_seen);
  }

  static std::string iteration_name(int64_t iteration) {
    char name[64];
    std::snprintf(name, sizeof name, "%06lld.ckpt", static_cast<long long>(iteration));
    return name;
  }

  // Every rank comes here at the same iterations: rank 0 writes, the others
  // take their fresh random streams.
  void checkpoint(const std::string& name) {
    signs_.flush(position_.augment, o_.augment, sum_over_ranks());
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
    if (writer()) log_->close();
    checkpoint(iteration_name(position_.iteration));
    if (writer()) result_.animation = write_sample_animation(o_.out);
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

  LmdbReader reader_;
  Collectives* world_ = nullptr;  // set across processes only
  int rank_ = 0, world_size_ = 1;
  TrainOptions o_;                // settled against the dataset (and a resumed reference file's sizes)
  torch::Device device_{torch::kCPU};
  std::optional<c10::DeviceGuard> device_guard_;  // this process's CUDA device, current for the run
  std::unique_ptr<GradientAverager> averager_;
  std::unique_ptr<TrainableGan> gan_;
  std::mt19937_64 rng_;
  TrainPosition position_;
  std::string train_config_;  // the flags as text, stored in every checkpoint

  std::unique_ptr<RunLog> log_;  // rank 0's
  torch::Tensor sample_z_;
  std::unique_ptr<SwdMonitor> monitor_;

  int step_ = 0, size_ = 0, batch_size_ = 0;
  std::unique_ptr<BatchStream> stream_;
  IterationScalars scalars_;
  SignGatherer signs_;  // ADA's measure since its last adjustment
  std::chrono::steady_clock::time_point last_log_;
  uint64_t images_at_last_log_ = 0;
  TrainResult result_;
};

}  // namespace

TrainResult train(const TrainOptions& options) { return TrainingRun(options).run(); }

}  // namespace sg
