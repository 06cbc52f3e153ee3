// sg_train DATA --sched --mixing: progressive StyleGAN training from a
// dataset LMDB; sg_train DATA --arch stylegan2 --size N: StyleGAN2 at one
// size. Thin: flags, then the library's train().
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/cli.hpp"
#include "common/progress.hpp"
#include "model/devices/device.hpp"
#include "model/distributed/collectives.hpp"
#include "model/distributed/launch.hpp"
#include "model/training/run_settings.hpp"
#include "model/training/trainer.hpp"

namespace {

namespace cli = sg::cli;

std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested = true; }

// The program's own settings beside the library's.
struct ProgramFlags {
  int threads = 0;
  bool quiet = false;
  std::string dist_backend;
  int dist_timeout = 300;
};

void add_flags(CLI::App& app, sg::TrainOptions& o, sg::TrainFlagChoices& c, ProgramFlags& p) {
  const std::vector<long long> sizes = {8, 16, 32, 64, 128, 256, 512, 1024};
  app.add_option("data", o.lmdb, "dataset LMDB (from sg_prep)")->required();
  app.add_option("--out", o.out, "run folder (default: runs/<dataset>-<time>)");
  app.add_flag("--sched", o.schedule.sched, "the reference's per-resolution learning rates and batch sizes");
  app.add_flag("--mixing", o.mixing, "style-mixing regularisation (two latents with probability 0.9)");
  app.add_flag("--cond", o.conditional,
               "class-conditional StyleGAN2 (an LMDB with labels): the generator's classes drawn as the data holds them");
  app.add_flag("--balance", o.balance, "with --cond: draw the generator's classes uniformly");
  app.add_option("--loss", c.loss, "wgan-gp or r1")->check(CLI::IsMember({"wgan-gp", "r1"}));
  cli::add_number(app, "--r1_gamma,--r1-gamma", o.r1_gamma,
                  "R1 weight gamma with --loss r1 (the reference's 10; StyleGAN2-ADA scales it with the image area)",
                  cli::between(0, 1e6));
  cli::add_choice(app, "--init_size,--init-size", o.schedule.init_size, "first resolution", sizes);
  cli::add_choice(app, "--max_size,--max-size", o.schedule.max_size, "last resolution (default: the LMDB's largest)",
                  sizes);
  cli::add_number(app, "--phase", o.schedule.phase, "images of fade-in, then as many at full alpha", cli::at_least(1));
  cli::add_number(app, "--lr", o.schedule.lr, "learning rate without --sched", cli::Bounds{0, 1, true, false});
  cli::add_number(app, "--batch", o.schedule.batch, "batch size without --sched", cli::between(1, 65536));
  cli::add_number(app, "--max_iter,--max-iter", o.max_iter,
                  "stop after this many iterations (0, the default: when the schedule ends; StyleGAN2: 800,000)",
                  cli::at_least(0));
  app.add_option("--ckpt", o.resume, "checkpoint to resume from")->check(CLI::ExistingFile);
  cli::add_number(app, "--channels", o.model.max_channels, "network width cap", cli::between(1, 512));
  cli::add_number(app, "--seed", o.seed, "seed of latents, data order and flips", cli::any_number());
  cli::add_number(app, "--checkpoint-every,--checkpoint_every", o.checkpoint_every,
                  "iterations between checkpoints (0: only at the end)", cli::at_least(0));
  cli::add_number(app, "--sample-every,--sample_every", o.sample_every, "iterations between sample grids (0: none)",
                  cli::at_least(0));
  cli::add_number(app, "--log-every,--log_every", o.log_every, "iterations between log lines", cli::at_least(1));
  cli::add_number(app, "--eval-every,--eval_every", o.eval_every,
                  "iterations between SWD measurements (log.csv column swd, TensorBoard eval/swd; from 16x16; 0: none)",
                  cli::between(0, 1000000000));
  cli::add_number(app, "--eval-images,--eval_images", o.eval_images,
                  "generated and real images per SWD measurement; generated images per FID/KID/PR",
                  cli::between(2, 1000000));
  app.add_option("--metrics", c.metrics,
                 "what --eval-every measures, comma-separated: swd (the default), fid, kid (Inception-v3), pr (VGG16), "
                 "as sg_eval; log.csv columns fid, kid, pr_precision, pr_recall");
  app.add_option("--inception", o.feature_metrics.inception, "Inception-v3 TorchScript file for fid/kid "
                                                             "(default: $SG_INCEPTION)");
  app.add_option("--vgg", o.feature_metrics.vgg, "VGG16 TorchScript file for pr (default: $SG_VGG)");
  app.add_option("--features", o.feature_metrics.features, "a TorchScript feature network for a domain FID "
                                                           "(log.csv column fid_custom)");
  app.add_option("--metrics-cache,--metrics_cache", c.metrics_cache, "folder of cached real-image features "
                                                                      "(default: ~/.cache/sg-metrics)");
  app.add_flag("--no-metrics-cache", c.no_metrics_cache, "keep no real-image features between runs");
  cli::add_number(app, "--threads", p.threads,
                  "CPU threads (0, the default: all cores, shared among the processes a launcher started on this "
                  "machine)",
                  cli::between(0, 1024));
  app.add_option("--device", o.device, "cpu or cuda (default: cuda if available)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--precision", c.precision,
                 "fp32; tf32 (TF32 tensor cores on CUDA); or bf16 autocast for the forward passes "
                 "(default: StyleGAN bf16 on CUDA, fp32 on a CPU; StyleGAN2 fp32)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  app.add_option("--ema", c.ema,
                 "EMA generator: per-block (each block's half-life ramps up with the images it trained on, capped at "
                 "--ema_decay per step; StyleGAN2's blocks all train from the start) or reference (a fixed "
                 "--ema_decay per step, as train.py)")
      ->check(CLI::IsMember({"per-block", "reference"}));
  cli::add_number(app, "--ema_decay,--ema-decay", o.ema.decay,
                  "EMA decay per G step, the cap (the references': StyleGAN 0.999, StyleGAN2 0.5^(32/10,000))",
                  cli::between(0, 1));
  cli::add_number(app, "--ema_rampup,--ema-rampup", o.ema.rampup,
                  "per-block: half-life as a fraction of the images a block trained on (default 0.05)",
                  cli::between(0, 1000));
  app.add_flag("--channels-last", o.channels_last, "NHWC weights and batches");
  app.add_flag("--no-mirror", c.no_mirror, "no random horizontal flips");
  app.add_flag("--quiet", p.quiet, "no progress line");
}

// StyleGAN2's, ADA's and the launchers' flags.
void add_architecture_flags(CLI::App& app, sg::TrainOptions& o, sg::TrainFlagChoices& c, ProgramFlags& p) {
  const std::vector<long long> sizes = {8, 16, 32, 64, 128, 256, 512, 1024};
  app.add_option("--arch", c.arch, "stylegan (progressive, default) or stylegan2 (one --size)")
      ->check(CLI::IsMember({"stylegan", "stylegan2"}));
  cli::add_choice(app, "--size", c.size, "StyleGAN2: the resolution (default: the LMDB's largest)", sizes);
  cli::add_choice(app, "--channel_multiplier,--channel-multiplier", o.channel_multiplier,
                  "StyleGAN2: width multiplier from 64x64 up (2: config-f, or 1)", {1, 2});
  cli::add_number(app, "--d_channels,--d-channels", o.d_channels,
                  "StyleGAN2: the discriminator's width cap (default: --channels; a small generator learns faster "
                  "against a wider one)",
                  cli::between(1, 512));
  cli::add_number(app, "--n_mlp,--n-mlp", o.model.n_mlp,
                  "StyleGAN2: layers of the mapping network (the reference's 8; StyleGAN2-ADA's small-data configs 2)",
                  cli::between(1, 8));
  cli::add_number(app, "--path_regularize,--path-regularize", o.regularization.path_weight,
                  "StyleGAN2: path-length weight (0: off)", cli::between(0, 1e4));
  cli::add_number(app, "--path_batch_shrink,--path-batch-shrink", o.regularization.path_batch_shrink,
                  "StyleGAN2: batch divisor of the path-length step", cli::between(1, 1024));
  cli::add_number(app, "--d_reg_every,--d-reg-every", o.regularization.d_every,
                  "StyleGAN2: iterations between R1 steps", cli::between(1, 1000000));
  cli::add_number(app, "--g_reg_every,--g-reg-every", o.regularization.g_every,
                  "StyleGAN2: iterations between path-length steps", cli::between(1, 1000000));
  app.add_flag("--augment", o.augment.enabled,
               "adaptive discriminator augmentation (ADA): D sees real and generated images augmented with probability p");
  cli::add_number(app, "--augment_p,--augment-p", c.augment_p,
                  "with --augment: a fixed p instead of the adaptive one", cli::below(0, 1));
  cli::add_number(app, "--ada_target,--ada-target", o.augment.target,
                  "with --augment: the E[sign D(real)] p steers to (default 0.6)", cli::Bounds{-1, 1, true, true});
  cli::add_number(app, "--ada_length,--ada-length", o.augment.length,
                  "with --augment: images over which p can move from 0 to 1 (default 500000)", cli::between(1, 1e12));
  cli::add_number(app, "--ada_every,--ada-every", o.augment.every,
                  "with --augment: images between adjustments of p (default 256)", cli::between(1, 1000000000));
  app.add_option("--dist-backend,--dist_backend", p.dist_backend,
                 "launched by torchrun or srun: the c10d backend (default: nccl on CUDA, gloo on the CPU)")
      ->check(CLI::IsMember({"gloo", "nccl"}));
  cli::add_number(app, "--dist-timeout,--dist_timeout", p.dist_timeout,
                  "launched by torchrun or srun: seconds to wait for the other processes before giving up (default 300)",
                  cli::between(1, 86400));
}

std::string default_run_folder(const std::string& lmdb) {
  char stamp[32];
  std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  return "runs/" + std::filesystem::path(lmdb).filename().string() + "-" + stamp;
}

// Launched by torchrun or srun: this rank joins the others through c10d.
std::unique_ptr<sg::Collectives> join_launch(const sg::LaunchEnvironment& launch, const ProgramFlags& p,
                                             sg::TrainOptions& o) {
  sg::ProcessGroupOptions po;
  po.backend = p.dist_backend;
  po.cuda = o.device == "cuda";
  po.timeout = std::chrono::seconds(p.dist_timeout);
  po.end_process = [](const std::string& reason) {
    std::fprintf(stderr, "sg_train: error: %s\n", reason.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  };
  // One GPU per process on each machine.
  if (po.cuda) o.device_index = launch.local_rank;
  o.loader_threads = sg::cores_per_process(launch.local_world_size);
  std::unique_ptr<sg::Collectives> world = sg::make_process_collectives(launch, po);
  o.collectives = world.get();
  if (launch.rank != 0) o.on_note = nullptr;
  return world;
}

void print_rank_result(const std::string& rank_prefix, const sg::TrainResult& r) {
  std::printf("%s%s after %lld iterations; state digest %016llx (every rank agrees); gradients all-reduced: "
              "%.1f MB in %lld buckets per optimiser step, %.3f s in all\n",
              rank_prefix.c_str(), r.interrupted ? "interrupted" : "finished", static_cast<long long>(r.iterations),
              static_cast<unsigned long long>(r.state_digest),
              r.gradient_reduce.calls ? r.gradient_reduce.bytes / 1e6 / r.gradient_reduce.calls : 0.0,
              static_cast<long long>(r.gradient_reduce.calls ? r.gradient_reduce.buckets / r.gradient_reduce.calls : 0),
              r.gradient_reduce.seconds);
}

void print_result(const sg::TrainOptions& o, const sg::TrainResult& r) {
  std::printf("%s after %lld iterations (%llu images), last size %dx%d\n",
              r.interrupted ? "interrupted" : "finished", static_cast<long long>(r.iterations),
              static_cast<unsigned long long>(r.images_seen), r.final_size, r.final_size);
  std::printf("checkpoint: %s\nsamples: %s/samples\nlog: %s/log.csv, TensorBoard: %s/tensorboard\n",
              r.last_checkpoint.c_str(), o.out.c_str(), o.out.c_str(), o.out.c_str());
  std::printf("loss plot: %s\n", r.loss_plot.c_str());
  if (!r.animation.empty()) std::printf("samples over training: %s\n", r.animation.c_str());
}

// The run itself; its exit status (130 when interrupted).
int run(sg::TrainOptions& o, const sg::TrainFlagChoices& c, ProgramFlags p) {
  std::unique_ptr<sg::Collectives> world;
  std::string rank_prefix;  // "rank R: " on every line but rank 0's results
  try {
    const sg::LaunchEnvironment launch = sg::read_launch_environment();
    if (p.threads <= 0 && launch.distributed()) p.threads = sg::cores_per_process(launch.local_world_size);
    sg::configure_cpu_runtime(p.threads);
    o.device = sg::resolve_device_name(o.device);
    // StyleGAN2 trains as stylegan2-pytorch does, in fp32, unless asked.
    o.precision = o.arch == sg::Architecture::StyleGan2 && c.precision.empty()
                      ? sg::Precision::Fp32
                      : sg::resolve_precision(c.precision, o.device);
    if (launch.distributed()) {
      rank_prefix = "rank " + std::to_string(launch.rank) + ": ";
      world = join_launch(launch, p, o);
    }
    const sg::TrainResult r = sg::train(o);
    if (world) print_rank_result(rank_prefix, r);
    if (!world || world->rank() == 0) print_result(o, r);
    return r.interrupted ? 130 : 0;
  } catch (const sg::DistributedError& e) {
    cli::print_error("sg_train", e);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", cli::error_line("sg_train", rank_prefix + e.what()).c_str());
    // The other ranks' error then names this one's cause.
    if (world) world->announce_failure(e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sg_train: StyleGAN (progressive) or StyleGAN2 training on a dataset LMDB"};
  sg::TrainOptions o;
  sg::TrainFlagChoices c;
  ProgramFlags p;
  add_flags(app, o, c, p);
  add_architecture_flags(app, o, c, p);
  if (int code = cli::parse_flags(app, argc, argv, "sg_train"); code >= 0) return code;
  for (const CLI::Option* option : app.get_options())
    if (option->count() > 0) c.given.insert(option->get_name());
  try {
    sg::apply_train_flags(c, o);
  } catch (const std::invalid_argument& e) {
    cli::print_error("sg_train", e);
    return 2;
  }
  o.on_note = [](const std::string& note) { std::fprintf(stderr, "sg_train: %s\n", note.c_str()); };
  o.show_progress = !p.quiet && sg::stderr_is_terminal();
  if (o.out.empty()) o.out = default_run_folder(o.lmdb);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  // A rank that dies mid-send must turn into a failed write (reported as the
  // lost rank), not a SIGPIPE that silently kills the survivor writing to it.
  std::signal(SIGPIPE, SIG_IGN);
  o.stop = &stop_requested;
  return run(o, c, p);
}
