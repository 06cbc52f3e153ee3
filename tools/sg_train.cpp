// sg_train DATA --sched --mixing: progressive StyleGAN training from a
// dataset LMDB; sg_train DATA --arch stylegan2 --size N: StyleGAN2 at one
// size. Thin: flags, then the library's train().
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>

#include "model/devices/device.hpp"
#include "model/distributed/collectives.hpp"
#include "model/distributed/launch.hpp"
#include "model/training/trainer.hpp"
#include "pipeline/progress.hpp"

namespace {
std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sg_train: StyleGAN (progressive) or StyleGAN2 training on a dataset LMDB"};
  sg::TrainOptions o;
  std::string loss = "wgan-gp", precision, arch = "stylegan";
  int size = 0;
  int threads = 0;
  bool no_mirror = false, quiet = false;
  o.schedule.max_size = 0;
  app.add_option("data", o.lmdb, "dataset LMDB (from sg_prep)")->required();
  app.add_option("--out", o.out, "run folder (default: runs/<dataset>-<time>)");
  app.add_flag("--sched", o.schedule.sched, "the reference's per-resolution learning rates and batch sizes");
  app.add_flag("--mixing", o.mixing, "style-mixing regularisation (two latents with probability 0.9)");
  app.add_option("--loss", loss, "wgan-gp or r1")->check(CLI::IsMember({"wgan-gp", "r1"}));
  app.add_option("--r1_gamma,--r1-gamma", o.r1_gamma,
                 "R1 weight gamma with --loss r1 (the reference's 10; StyleGAN2-ADA scales it with the image area)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--init_size,--init-size", o.schedule.init_size, "first resolution")
      ->check(CLI::IsMember({8, 16, 32, 64, 128, 256, 512, 1024}));
  app.add_option("--max_size,--max-size", o.schedule.max_size, "last resolution (default: the LMDB's largest)");
  app.add_option("--phase", o.schedule.phase, "images of fade-in, then as many at full alpha")->check(CLI::PositiveNumber);
  app.add_option("--lr", o.schedule.lr, "learning rate without --sched");
  app.add_option("--batch", o.schedule.batch, "batch size without --sched")->check(CLI::PositiveNumber);
  app.add_option("--max_iter,--max-iter", o.max_iter, "stop after this many iterations");
  app.add_option("--ckpt", o.resume, "checkpoint to resume from")->check(CLI::ExistingFile);
  app.add_option("--channels", o.model.max_channels, "network width cap")->check(CLI::Range(1, 512));
  app.add_option("--seed", o.seed, "seed of latents, data order and flips");
  app.add_option("--checkpoint-every,--checkpoint_every", o.checkpoint_every, "iterations between checkpoints");
  app.add_option("--sample-every,--sample_every", o.sample_every, "iterations between sample grids");
  app.add_option("--log-every,--log_every", o.log_every, "iterations between log lines")->check(CLI::PositiveNumber);
  app.add_option("--eval-every,--eval_every", o.eval_every,
                 "iterations between SWD measurements (log.csv column swd, TensorBoard eval/swd; from 16x16)")
      ->check(CLI::Range(0, 1000000000));
  app.add_option("--eval-images,--eval_images", o.eval_images, "generated and real images per SWD measurement")
      ->check(CLI::Range(2, 1000000));
  app.add_option("--threads", threads,
                 "CPU threads (default: all cores, shared among the processes a launcher started on this machine)");
  app.add_option("--device", o.device, "cpu or cuda (default: cuda if available)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--precision", precision,
                 "fp32; tf32 (TF32 tensor cores on CUDA); or bf16 autocast for the forward passes "
                 "(default: bf16 on CUDA, fp32 on a CPU)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  std::string ema = "per-block";
  app.add_option("--ema", ema,
                 "EMA generator: per-block (each block's half-life ramps up with the images it trained on, capped at "
                 "--ema_decay per step) or reference (a fixed --ema_decay per step, as train.py)")
      ->check(CLI::IsMember({"per-block", "reference"}));
  app.add_option("--ema_decay,--ema-decay", o.ema.decay, "EMA decay per G step (the reference's 0.999; the cap)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--ema_rampup,--ema-rampup", o.ema.rampup,
                 "per-block: half-life as a fraction of the images a block trained on (default 0.05)")
      ->check(CLI::Range(0.0, 1000.0));
  app.add_flag("--channels-last", o.channels_last, "NHWC weights and batches");
  app.add_flag("--no-mirror", no_mirror, "no random horizontal flips");
  app.add_flag("--quiet", quiet, "no progress line");
  app.add_option("--arch", arch, "stylegan (progressive, default) or stylegan2 (one --size)")
      ->check(CLI::IsMember({"stylegan", "stylegan2"}));
  app.add_option("--size", size, "StyleGAN2: the resolution (default: the LMDB's largest)");
  app.add_option("--channel_multiplier,--channel-multiplier", o.channel_multiplier,
                 "StyleGAN2: width multiplier from 64x64 up (2: config-f, or 1)")
      ->check(CLI::IsMember({1, 2}));
  app.add_option("--path_regularize,--path-regularize", o.regularization.path_weight,
                 "StyleGAN2: path-length weight (0: off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--path_batch_shrink,--path-batch-shrink", o.regularization.path_batch_shrink,
                 "StyleGAN2: batch divisor of the path-length step")
      ->check(CLI::PositiveNumber);
  app.add_option("--d_reg_every,--d-reg-every", o.regularization.d_every, "StyleGAN2: iterations between R1 steps")
      ->check(CLI::PositiveNumber);
  app.add_option("--g_reg_every,--g-reg-every", o.regularization.g_every,
                 "StyleGAN2: iterations between path-length steps")
      ->check(CLI::PositiveNumber);
  double augment_p = 0;
  app.add_flag("--augment", o.augment.enabled,
               "adaptive discriminator augmentation (ADA): D sees real and generated images augmented with probability p");
  app.add_option("--augment_p,--augment-p", augment_p, "with --augment: a fixed p in [0, 1) instead of the adaptive one");
  app.add_option("--ada_target,--ada-target", o.augment.target,
                 "with --augment: the E[sign D(real)] p steers to (default 0.6)");
  app.add_option("--ada_length,--ada-length", o.augment.length,
                 "with --augment: images over which p can move from 0 to 1 (default 500000)");
  app.add_option("--ada_every,--ada-every", o.augment.every, "with --augment: images between adjustments of p (default 256)");
  std::string dist_backend;
  int dist_timeout = 300;
  app.add_option("--dist-backend,--dist_backend", dist_backend,
                 "launched by torchrun or srun: the c10d backend (default: nccl on CUDA, gloo on the CPU)")
      ->check(CLI::IsMember({"gloo", "nccl"}));
  app.add_option("--dist-timeout,--dist_timeout", dist_timeout,
                 "launched by torchrun or srun: seconds to wait for the other processes before giving up (default 300)")
      ->check(CLI::Range(1, 86400));
  CLI11_PARSE(app, argc, argv);
  if (app.count("--augment_p") > 0) o.augment.fixed_p = augment_p;
  if (!o.augment.enabled)
    for (const char* flag : {"--augment_p", "--ada_target", "--ada_length", "--ada_every"})
      if (app.count(flag) > 0) {
        std::fprintf(stderr, "sg_train: error: %s needs --augment\n", flag);
        return 1;
      }

  o.arch = arch == "stylegan2" ? sg::Architecture::StyleGan2 : sg::Architecture::StyleGan;
  if (o.arch == sg::Architecture::StyleGan2) {
    for (const char* flag : {"--sched", "--init_size", "--phase", "--max_size", "--ema", "--ema_decay", "--ema_rampup"})
      if (app.count(flag) > 0) {
        std::fprintf(stderr, "sg_train: error: %s is a progressive StyleGAN flag; --arch stylegan2 trains one --size\n",
                     flag);
        return 1;
      }
    if (size > 0) o.schedule.max_size = size;
    // Its train.py: logistic loss with lazy R1, lr 0.002.
    if (app.count("--loss") == 0) loss = "r1";
    if (app.count("--lr") == 0) o.schedule.lr = 0.002;
    if (!precision.empty() && precision != "fp32") {
      std::fprintf(stderr, "sg_train: error: --arch stylegan2 trains in fp32 only\n");
      return 1;
    }
  } else if (app.count("--size") > 0 || app.count("--channel_multiplier") > 0 || app.count("--path_regularize") > 0 ||
             app.count("--d_reg_every") > 0 || app.count("--g_reg_every") > 0 || app.count("--path_batch_shrink") > 0) {
    std::fprintf(stderr, "sg_train: error: --size, --channel_multiplier and the lazy-regularisation flags need --arch stylegan2\n");
    return 1;
  }

  if (ema == "reference") o.ema.rampup = 0;
  o.init_size_given = app.count("--init_size") > 0;
  o.on_note = [](const std::string& note) { std::fprintf(stderr, "sg_train: %s\n", note.c_str()); };
  o.loss = loss == "r1" ? sg::GanLoss::R1 : sg::GanLoss::WganGp;
  o.mirror = !no_mirror;
  o.show_progress = !quiet && sg::stderr_is_terminal();
  if (o.out.empty()) {
    char stamp[32];
    std::time_t t = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
    o.out = "runs/" + std::filesystem::path(o.lmdb).filename().string() + "-" + stamp;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  o.stop = &stop_requested;
  std::unique_ptr<sg::Collectives> world;
  std::string rank_prefix;  // "rank R: " on every line but rank 0's results
  try {
    const sg::LaunchEnvironment launch = sg::read_launch_environment();
    if (threads <= 0 && launch.distributed())
      threads = sg::cores_per_process(launch.local_world_size);
    sg::configure_cpu_runtime(threads);
    o.device = sg::resolve_device_name(o.device);
    o.precision = sg::resolve_precision(precision, o.device);
    if (launch.distributed()) {
      rank_prefix = "rank " + std::to_string(launch.rank) + ": ";
      sg::ProcessGroupOptions po;
      po.backend = dist_backend;
      po.cuda = o.device == "cuda";
      po.timeout = std::chrono::seconds(dist_timeout);
      po.end_process = [](const std::string& reason) {
        std::fprintf(stderr, "sg_train: error: %s\n", reason.c_str());
        std::fflush(stderr);
        std::_Exit(1);
      };
      // One GPU per process on each machine.
      if (po.cuda) o.device_index = launch.local_rank;
      o.loader_threads = sg::cores_per_process(launch.local_world_size);
      world = sg::make_process_collectives(launch, po);
      o.collectives = world.get();
      if (launch.rank != 0) o.on_note = nullptr;
    }
    sg::TrainResult r = sg::train(o);
    if (world) {
      std::printf("%s%s after %lld iterations; state digest %016llx (every rank agrees); gradients all-reduced: "
                  "%.1f MB in %lld buckets per optimiser step, %.3f s in all\n",
                  rank_prefix.c_str(), r.interrupted ? "interrupted" : "finished", static_cast<long long>(r.iterations),
                  static_cast<unsigned long long>(r.state_digest),
                  r.gradient_reduce.calls ? r.gradient_reduce.bytes / 1e6 / r.gradient_reduce.calls : 0.0,
                  static_cast<long long>(r.gradient_reduce.calls ? r.gradient_reduce.buckets / r.gradient_reduce.calls : 0),
                  r.gradient_reduce.seconds);
      if (world->rank() != 0) return r.interrupted ? 130 : 0;
    }
    std::printf("%s after %lld iterations (%llu images), last size %dx%d\n",
                r.interrupted ? "interrupted" : "finished", static_cast<long long>(r.iterations),
                static_cast<unsigned long long>(r.images_seen), r.final_size, r.final_size);
    std::printf("checkpoint: %s\nsamples: %s/samples\nlog: %s/log.csv, TensorBoard: %s/tensorboard\n",
                r.last_checkpoint.c_str(), o.out.c_str(), o.out.c_str(), o.out.c_str());
    std::printf("loss plot: %s\n", r.loss_plot.c_str());
    if (!r.animation.empty()) std::printf("samples over training: %s\n", r.animation.c_str());
    return r.interrupted ? 130 : 0;
  } catch (const sg::DistributedError& e) {
    std::fprintf(stderr, "sg_train: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_train: error: %s%s\n", rank_prefix.c_str(), e.what());
    // The other ranks' error then names this one's cause.
    if (world) world->announce_failure(e.what());
    return 1;
  }
}
