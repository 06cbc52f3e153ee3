// bench_train LMDB: end-to-end training speed (real LMDB batches through full
// iterations, --sched batches, mixing, WGAN-GP) at each resolution, in
// images/s, in TFLOP/s of the reference model's operation count, and in
// GFLOP/s of its own counted arithmetic beside this machine's peak, measured
// in the same run.
//
// bench_train LMDB --world N: the same over N processes on this machine
// (started as torchrun would, Gloo over loopback; or run it under torchrun
// or srun yourself): the batch global, each iteration split into compute
// and the gradients' all-reduce, with the bytes all-reduced.

#include <sys/wait.h>

#include <cstdio>
#include <memory>

#include "common/cli.hpp"
#include "model/devices/device.hpp"
#include "model/devices/flop_count.hpp"
#include "model/distributed/collectives.hpp"
#include "model/distributed/launch.hpp"
#include "model/stylegan/layers.hpp"
#include "model/stylegan/networks.hpp"
#include "model/training/throughput.hpp"

namespace {

// This program again as ranks 0..world-1 of a local launch (torchrun's
// variables, `threads` each); the first failing rank's status.
int launch_ranks(int world, int threads, const std::vector<std::string>& args) {
  const int port = sg::free_loopback_port();
  std::vector<pid_t> pids;
  std::vector<std::string> rank_args = args;
  rank_args.insert(rank_args.end(), {"--threads", std::to_string(threads)});
  for (int rank = 0; rank < world; ++rank) pids.push_back(sg::start_local_rank("/proc/self/exe", rank_args, rank, world, port));
  int result = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (result == 0) result = code;
  }
  return result;
}

namespace cli = sg::cli;

struct BenchFlags {
  std::string lmdb, precision, arch = "stylegan";
  std::vector<int> sizes{8, 16, 32, 64, 128, 256};
  int threads = 0, op_profile = 0, world_size = 1;
  sg::stylegan::ConvolutionSettings convolutions = sg::stylegan::convolution_settings();
};

void add_flags(CLI::App& app, BenchFlags& f, sg::ThroughputOptions& o) {
  app.add_option("data", f.lmdb, "dataset LMDB (from sg_prep) holding every measured size")->required();
  app.add_option("--sizes", f.sizes, "resolutions to measure");
  cli::add_number(app, "--channels", o.width, "network width cap", cli::between(1, 512));
  cli::add_number(app, "--batch", o.batch, "batch size (0, the default: the --sched batch of each size)",
                  cli::between(0, 65536));
  app.add_option("--precision", f.precision, "fp32, tf32 or bf16 (default: bf16 on CUDA, fp32 on a CPU)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  app.add_flag("--channels-last", o.channels_last, "NHWC weights and batches");
  cli::add_number(app, "--augment", o.augment_p, "ADA at this fixed p (default 0: none)", cli::below(0, 1));
  app.add_flag("--synthetic", o.synthetic, "one resident batch, no loader: the model alone");
  cli::add_number(app, "--warmup", o.warmup_iterations, "untimed iterations per size", cli::between(0, 1000000));
  cli::add_number(app, "--iterations", o.min_iterations, "at least this many timed iterations", cli::between(1, 1000000));
  cli::add_number(app, "--seconds", o.min_seconds, "and at least this long", cli::between(0, 86400));
  app.add_flag("!--native-conv", f.convolutions.own_double_backward,
               "LibTorch's conv2d and its double backward instead of ours");
  cli::add_number(app, "--own-conv-from", f.convolutions.cuda_own_double_backward_minimum_size,
                  "on CUDA, our conv double backward from this image size, LibTorch's below (default 64)",
                  cli::between(0, 4096));
  cli::add_number(app, "--phase-split-from", f.convolutions.phase_split_minimum_size,
                  "upsample/pool convolutions as 2x2 phase convolutions from this size (default 16)",
                  cli::between(0, 4096));
  cli::add_number(app, "--op-profile", f.op_profile,
                  "after each size, the N operators with the most host time per iteration (slows the timed run)",
                  cli::between(0, 100000));
  cli::add_number(app, "--threads", f.threads, "CPU threads (0, the default: all cores)", cli::between(0, 1024));
  app.add_option("--device", o.device, "cpu or cuda (default: cuda if available)")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--arch", f.arch, "stylegan (default) or stylegan2 (timed over whole 16-iteration lazy cycles)")
      ->check(CLI::IsMember({"stylegan", "stylegan2"}));
  cli::add_choice(app, "--channel_multiplier,--channel-multiplier", o.channel_multiplier, "StyleGAN2: 2 or 1", {1, 2});
  cli::add_number(app, "--world", f.world_size,
                  "run as this many processes on this machine (Gloo over loopback), the batch split among them; "
                  "--threads then counts per process (default: the cores shared out)",
                  cli::between(1, 64));
}

// The arguments for the ranks of --world: this command line without
// --world and --threads.
std::vector<std::string> rank_arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--world" || a == "--threads") {
      ++i;
      continue;
    }
    if (a.rfind("--world=", 0) == 0 || a.rfind("--threads=", 0) == 0) continue;
    args.push_back(a);
  }
  return args;
}

void print_header(const BenchFlags& f, const sg::ThroughputOptions& o, int threads, const sg::Collectives* world,
                  const std::string& peak) {
  const bool stylegan2 = o.arch == sg::Architecture::StyleGan2;
  char conv_backward[64] = "LibTorch's";
  if (f.convolutions.own_double_backward)
    std::snprintf(conv_backward, sizeof conv_backward, o.device == "cuda" ? "own from %lld" : "own",
                  static_cast<long long>(f.convolutions.cuda_own_double_backward_minimum_size));
  std::printf("device %s, %d CPU threads, width %d, %s%s, mixing, %s, %s, %s conv backward, phase split from %lld\n",
              o.device.c_str(), threads, o.width, sg::precision_name(o.precision), o.channels_last ? ", channels-last" : "",
              stylegan2 ? "StyleGAN2 (logistic, lazy R1 and path length)" : "WGAN-GP",
              o.synthetic ? "one resident batch (model alone)" : "LMDB batches", conv_backward,
              static_cast<long long>(f.convolutions.phase_split_minimum_size));
  std::printf("%s\n", peak.c_str());
  if (world)
    std::printf("%d processes (%s), the batch global: each iteration's time split into compute and the gradients' "
                "all-reduce\n",
                world->size(), "c10d");
  std::printf("%6s %6s %11s %10s %10s %14s %10s %9s %8s", "size", "batch", "iterations", "ms/iter", "images/s",
              "ref. TFLOP/s", "GFLOP/it", "GFLOP/s", "of peak");
  if (world) std::printf(" %12s %14s %12s", "compute ms", "all-reduce ms", "MB reduced");
  std::printf("\n");
}

void print_point(const sg::ThroughputPoint& p, const sg::ThroughputOptions& o, bool across, int op_profile,
                 double peak_gflops) {
  // The operation count is the 512-wide reference's: no TFLOP/s for other widths.
  char tflops[32] = "-";
  if (o.width == 512 && o.arch != sg::Architecture::StyleGan2) std::snprintf(tflops, sizeof tflops, "%.1f", p.tflop_per_second);
  const double n = static_cast<double>(p.iterations);
  std::printf("%6d %6d %11lld %10.2f %10.1f %14s %10.1f %9.0f %7.0f%%", p.size, p.batch,
              static_cast<long long>(p.iterations), 1000.0 * p.seconds / n, p.images_per_second, tflops,
              p.gflop_per_iteration, p.gflop_per_second, 100 * p.gflop_per_second / peak_gflops);
  if (across)
    std::printf(" %12.2f %14.2f %12.2f", 1000.0 * (p.seconds - p.allreduce_seconds) / n, 1000.0 * p.allreduce_seconds / n,
                p.allreduce_bytes_per_iteration / 1e6);
  std::printf("\n");
  if (o.profile_ops) {
    std::printf("        %.0f operators per iteration at top level, %.2f ms of host time in them\n",
                static_cast<double>(p.top_level_operators) / n, p.top_level_host_ms / n);
    std::printf("        %10s %12s %12s  %s\n", "calls/it", "top-level/it", "host ms/it", "operator (inclusive)");
    for (size_t i = 0; i < p.operators.size() && i < static_cast<size_t>(op_profile); ++i) {
      const auto& e = p.operators[i];
      std::printf("        %10.1f %12.1f %12.3f  %s\n", static_cast<double>(e.calls) / n,
                  static_cast<double>(e.top_level_calls) / n, e.host_ms / n, e.name.c_str());
    }
  }
  std::fflush(stdout);
}

// The table, one size a row (this process's rank of a world, or alone).
int measure(BenchFlags& f, sg::ThroughputOptions& o, const sg::Collectives* world) {
  try {
    for (int size : f.sizes) {
      sg::step_for_size(size);  // a bad size fails before the table starts
      if (o.arch != sg::Architecture::StyleGan2 && sg::reference_training_gflop_per_image(size) == 0)
        throw std::invalid_argument("--sizes: " + std::to_string(size) + " is not one of 8 16 32 64 128 256");
    }
    const int threads = sg::configure_cpu_runtime(f.threads);
    sg::stylegan::set_convolution_settings(f.convolutions);
    o.device = sg::resolve_device_name(o.device);
    o.profile_ops = f.op_profile > 0;
    o.precision = sg::resolve_precision(f.precision, o.device);
    sg::LmdbReader reader(f.lmdb);
    // The peak in the dtype the convolutions run in; per process in a world.
    const torch::Device device(o.device == "cuda" ? torch::kCUDA : torch::kCPU);
    const torch::ScalarType dtype = o.precision == sg::Precision::Bf16 ? torch::kBFloat16 : torch::kFloat;
    const sg::MeasuredPeak peak = sg::measure_peak(device, dtype);
    print_header(f, o, threads, world, sg::describe_peak(device, dtype, peak));
    for (int size : f.sizes)
      print_point(sg::measure_training_throughput(reader, size, o), o, world != nullptr, f.op_profile, peak.best());
    return 0;
  } catch (const std::exception& e) {
    cli::print_error("bench_train", e);
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_train: end-to-end StyleGAN training speed per resolution"};
  BenchFlags f;
  sg::ThroughputOptions o;
  add_flags(app, f, o);
  if (int code = cli::parse_flags(app, argc, argv, "bench_train"); code >= 0) return code;
  o.arch = sg::parse_architecture(f.arch);
  std::unique_ptr<sg::Collectives> world;
  try {
    const sg::LaunchEnvironment launch = sg::read_launch_environment();
    if (f.world_size > 1 && !launch.distributed())
      return launch_ranks(f.world_size, f.threads > 0 ? f.threads : sg::cores_per_process(f.world_size),
                          rank_arguments(argc, argv));
    if (launch.distributed()) {
      if (f.threads <= 0) f.threads = sg::cores_per_process(launch.local_world_size);
      sg::ProcessGroupOptions po;
      po.cuda = sg::resolve_device_name(o.device) == "cuda";
      world = sg::make_process_collectives(launch, po);
      o.collectives = world.get();
      // Ranks other than 0 print nothing.
      if (launch.rank != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
    }
  } catch (const std::exception& e) {
    cli::print_error("bench_train", e);
    return 1;
  }
  return measure(f, o, world.get());
}
