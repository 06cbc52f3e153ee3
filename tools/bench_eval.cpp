// bench_eval: seconds for sg_eval's full evaluation (SWD against the real
// set, the real-halves baseline, the memorisation check) of N generated
// images against N real ones, on synthetic phantoms written to LMDBs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/cli.hpp"
#include "common/remove_tree.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/evaluate.hpp"
#include "model/evaluation/image_set.hpp"
#include "model/evaluation/phantoms.hpp"
#include "model/training/gan_factory.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"bench_eval: evaluation time for N images"};
  int size = 64, threads = 0;
  int64_t n = 10000;
  sg::cli::add_choice(app, "--size", size, "image size", {16, 32, 64, 128, 256});
  sg::cli::add_number(app, "--n", n, "images per set", sg::cli::between(2, 1000000));
  sg::cli::add_number(app, "--threads", threads, "CPU threads (0, the default: all cores)", sg::cli::between(0, 1024));
  if (int code = sg::cli::parse_flags(app, argc, argv, "bench_eval"); code >= 0) return code;
  const fs::path scratch = fs::temp_directory_path() / ("bench_eval_" + std::to_string(::getpid()));
  try {
    const int used = sg::configure_cpu_runtime(threads);
    fs::create_directories(scratch);
    const auto real = sg::synthetic_phantoms(n, size, 1), held_out = sg::synthetic_phantoms(n / 10, size, 2);
    sg::write_image_lmdb((scratch / "real.lmdb").string(), real, held_out);
    sg::write_image_lmdb((scratch / "fake.lmdb").string(), sg::synthetic_phantoms(n, size, 3));

    sg::EvalOptions o;
    o.fake = (scratch / "fake.lmdb").string();
    o.real = (scratch / "real.lmdb").string();
    o.size = size;
    o.n = n;
    o.pairs_png = (scratch / "pairs.png").string();
    const auto start = std::chrono::steady_clock::now();
    const sg::EvalReport report = sg::evaluate(o, sg::open_checkpoint);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s", sg::format_report(report).c_str());
    std::printf("bench_eval: %lld images at %dx%d (plus %lld held out), %d threads: %.1f s end to end\n",
                static_cast<long long>(n), size, size, static_cast<long long>(n / 10), used, seconds);
    sg::remove_tree(scratch.string());
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("bench_eval", e);
    sg::remove_tree(scratch.string());
    return 1;
  }
}
