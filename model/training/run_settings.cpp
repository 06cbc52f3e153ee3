#include "model/training/run_settings.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/core/ema.hpp"

namespace sg {

namespace {

void refuse_unless(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

void apply_train_flags(const TrainFlagChoices& c, TrainOptions& o) {
  if (!c.metrics.empty()) {
    const std::string problem = parse_metric_list(c.metrics, o.eval_swd, o.feature_metrics);
    refuse_unless(problem.empty(), "--metrics: " + problem);
  }
  refuse_unless(o.eval_every > 0 || (c.metrics.empty() && o.feature_metrics.features.empty()),
                "--metrics and --features need --eval-every N (the iterations between measurements)");
  if (o.feature_metrics.any())
    o.feature_metrics.cache_dir =
        c.no_metrics_cache ? "" : c.metrics_cache.empty() ? default_feature_cache_dir() : c.metrics_cache;
  if (c.was_given("--augment_p")) o.augment.fixed_p = c.augment_p;
  if (!o.augment.enabled)
    for (const char* flag : {"--augment_p", "--ada_target", "--ada_length", "--ada_every"})
      refuse_unless(!c.was_given(flag), std::string(flag) + " needs --augment");

  o.arch = c.arch == "stylegan2" ? Architecture::StyleGan2 : Architecture::StyleGan;
  if (o.arch == Architecture::StyleGan2) {
    for (const char* flag : {"--sched", "--init_size", "--phase", "--max_size"})
      refuse_unless(!c.was_given(flag),
                    std::string(flag) + " is a progressive StyleGAN flag; --arch stylegan2 trains one --size");
    if (c.size > 0) o.schedule.max_size = c.size;
  } else {
    for (const char* flag : {"--size", "--channel_multiplier", "--d_channels", "--n_mlp", "--path_regularize", "--d_reg_every",
                             "--g_reg_every", "--path_batch_shrink", "--cond"})
      refuse_unless(!c.was_given(flag), std::string(flag) + " needs --arch stylegan2");
    if (c.was_given("--init_size") && o.schedule.max_size > 0)
      refuse_unless(o.schedule.init_size <= o.schedule.max_size,
                    "--init_size " + std::to_string(o.schedule.init_size) + " is larger than --max_size " +
                        std::to_string(o.schedule.max_size));
  }

  // StyleGAN2's train.py: logistic loss with lazy R1, lr 0.002.
  const bool v2 = o.arch == Architecture::StyleGan2;
  o.loss = c.was_given("--loss") ? (c.loss == "r1" ? GanLoss::R1 : GanLoss::WganGp) : (v2 ? GanLoss::R1 : GanLoss::WganGp);
  if (v2 && !c.was_given("--lr")) o.schedule.lr = 0.002;
  if (v2 && !c.was_given("--ema_decay")) o.ema.decay = stylegan2::reference_ema_decay();
  if (c.ema == "reference") o.ema.rampup = 0;
  o.init_size_given = c.was_given("--init_size");
  o.mirror = !c.no_mirror;
  refuse_unless(o.conditional || !o.balance, "--balance needs --cond");
}

// --max_size from the LMDB, every size of the schedule present, the image
// channels and mirroring as the dataset has them; every stage's batch
// splits evenly over the ranks.
TrainOptions settle_against_dataset(const TrainOptions& given, const LmdbReader& reader, int world_size) {
  TrainOptions o = given;
  const std::vector<int> sizes = reader.sizes();
  if (sizes.empty()) throw InputError(given.lmdb, "the LMDB holds no records");
  auto has_size = [&](int s) { return std::find(sizes.begin(), sizes.end(), s) != sizes.end(); };
  std::string size_list;
  for (int s : sizes) size_list += (size_list.empty() ? "" : " ") + std::to_string(s);
  if (o.schedule.max_size == 0) o.schedule.max_size = sizes.back();
  // Before anything is sized by the schedule: a first stage past the last
  // one indexed blocks the networks do not have.
  if (o.arch == Architecture::StyleGan && o.schedule.init_size > o.schedule.max_size)
    throw std::invalid_argument("--init_size " + std::to_string(o.schedule.init_size) + " is larger than the last size, " +
                                std::to_string(o.schedule.max_size) +
                                (given.schedule.max_size > 0 ? " (--max_size)" : " (the LMDB's largest; --max_size)"));
  if (o.arch == Architecture::StyleGan2) {
    // One size, trained from the first iteration at alpha 1.
    const int size = o.schedule.max_size;
    if (size < 8 || size > 1024 || (size & (size - 1)) != 0)
      throw std::invalid_argument("--size " + std::to_string(size) + " is not a power of two from 8 to 1024");
    // D's minibatch standard deviation takes groups of 4 (or the whole
    // batch when smaller), in the D steps and in the path-length step.
    const int batch = batch_for(o.schedule, size) / world_size;
    const int path_batch = std::max(1, batch / std::max(1, o.regularization.path_batch_shrink));
    for (int b : {batch, path_batch})
      if (b % std::min(b, 4) != 0)
        throw std::invalid_argument("a batch of " + std::to_string(b) + (b == batch ? "" : " (the path-length step's)") +
                                    (world_size > 1 ? " per process" : "") +
                                    " does not divide into the discriminator's groups of 4: use a multiple of 4" +
                                    (world_size > 1 ? " per process" : ""));
    o.schedule.init_size = size;
    o.schedule.progressive = false;
    if (o.max_iter == 0) o.max_iter = 800000;
  }
  for (int s = o.schedule.init_size; s <= o.schedule.max_size; s *= 2)
    if (batch_for(o.schedule, s) % world_size != 0)
      throw std::invalid_argument("the batch of " + std::to_string(batch_for(o.schedule, s)) + " at " +
                                  std::to_string(s) + "x" + std::to_string(s) + " does not split evenly over " +
                                  std::to_string(world_size) + " processes (--batch and the --sched batches are " +
                                  "global): use a multiple of " + std::to_string(world_size));
  const bool fixed = o.arch == Architecture::StyleGan2;
  for (int s = o.schedule.init_size; s <= o.schedule.max_size; s *= 2)
    if (!has_size(s))
      throw InputError(given.lmdb, "holds no " + std::to_string(s) + "x" + std::to_string(s) + " records, needed " +
                                       (fixed ? std::string("for --size") : "between --init_size and --max_size") +
                                       " (it has: " + size_list + ")");
  o.model.max_size = o.schedule.max_size;
  // As the batch stream will deliver them.
  o.model.image_channels = reader.channels();
  // The dataset decides whether random mirroring is right for it.
  if (reader.meta() && !reader.meta()->config().random_mirror()) o.mirror = false;
  return o;
}

TrainPosition initial_position(const TrainOptions& o) {
  TrainPosition position;
  position.schedule = initial_schedule_state(o.schedule);
  position.block_images.assign(static_cast<size_t>(o.model.steps() + 1), 0);
  return position;
}

TrainPosition position_after_reference(TrainOptions& o, const LoadReport& loaded, std::string* note) {
  const int max_step = step_for_size(o.schedule.max_size);
  const int start = o.init_size_given ? step_for_size(o.schedule.init_size) : std::min(loaded.trained_step + 1, max_step);
  o.schedule.init_size = size_for_step(start);
  TrainPosition position = initial_position(o);
  position.schedule.first_stage_without_fade = start <= loaded.trained_step;
  for (int i = 0; i <= std::min(loaded.trained_step, o.model.steps()); ++i)
    position.block_images[static_cast<size_t>(i)] = kFullyRampedImages;
  const std::string size = std::to_string(o.schedule.init_size) + "x" + std::to_string(o.schedule.init_size);
  const int trained = size_for_step(loaded.trained_step);
  *note = o.resume + ": " + loaded.note + "; trained to " + std::to_string(trained) + "x" + std::to_string(trained) +
          ", so starting at " + size + (position.schedule.first_stage_without_fade ? " at alpha 1" : " with a fade-in") +
          " from iteration 0" + (o.init_size_given ? " (--init_size)" : " (--init_size to choose)");
  return position;
}

std::string describe_settings(const TrainOptions& o) {
  std::ostringstream s;
  s << "arch=" << architecture_name(o.arch) << " lmdb=" << o.lmdb << " init_size=" << o.schedule.init_size << " max_size=" << o.schedule.max_size
    << " phase=" << o.schedule.phase << " sched=" << o.schedule.sched << " lr=" << o.schedule.lr
    << " batch=" << o.schedule.batch << " mixing=" << o.mixing << " loss=" << (o.loss == GanLoss::R1 ? "r1" : "wgan-gp") << " r1_gamma=" << o.r1_gamma
    << " seed=" << o.seed << " mirror=" << o.mirror << " precision=" << precision_name(o.precision)
    << " channels_last=" << o.channels_last << " ema_decay=" << o.ema.decay << " ema_rampup=" << o.ema.rampup;
  if (o.conditional) s << " cond=1 balance=" << o.balance;
  if (o.collectives && o.collectives->size() > 1) s << " world_size=" << o.collectives->size();
  if (o.arch == Architecture::StyleGan2)
    s << " channel_multiplier=" << o.channel_multiplier << (o.d_channels > 0 ? " d_channels=" + std::to_string(o.d_channels) : "")
      << " n_mlp=" << o.model.n_mlp
      << " path_regularize=" << o.regularization.path_weight << " d_reg_every=" << o.regularization.d_every
      << " g_reg_every=" << o.regularization.g_every << " max_iter=" << o.max_iter;
  if (o.augment.enabled) {
    s << " augment=1";
    if (o.augment.fixed_p)
      s << " augment_p=" << *o.augment.fixed_p;
    else
      s << " ada_target=" << o.augment.target << " ada_length=" << o.augment.length << " ada_every=" << o.augment.every;
  }
  return s.str();
}

GanSpec gan_spec(const TrainOptions& o) {
  GanSpec spec;
  spec.arch = o.arch;
  spec.model = o.model;
  spec.channel_multiplier = o.channel_multiplier;
  spec.d_channels = o.d_channels;
  spec.lr = learning_rate_for(o.schedule, o.schedule.init_size);
  spec.batch = batch_for(o.schedule, o.schedule.max_size);
  spec.loss = o.loss;
  spec.r1_gamma = o.r1_gamma;
  spec.mixing = o.mixing;
  spec.regularization = o.regularization;
  spec.ema = o.ema;
  spec.precision = o.precision;
  return spec;
}

}  // namespace sg
