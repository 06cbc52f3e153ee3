// sg_test CKPT --size N: sample and style-mixing grids from a checkpoint's
// EMA generator, as the reference's generate.py / test.py.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "model/devices/device.hpp"
#include "model/evaluation/sampler.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_test: sample and style-mixing grids from a checkpoint"};
  std::string checkpoint, out = "samples";
  sg::SampleOptions o;
  int threads = 0;
  app.add_option("checkpoint", checkpoint, "checkpoint from sg_train")->required()->check(CLI::ExistingFile);
  app.add_option("--size", o.size, "resolution to draw")->required();
  app.add_option("--out", out, "output folder");
  app.add_option("--n_row,--n-row", o.rows, "rows (destinations in the mixing grid)")->check(CLI::PositiveNumber);
  app.add_option("--n_col,--n-col", o.cols, "columns (sources in the mixing grid)")->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed of latents and noise");
  app.add_option("--truncation", o.truncation, "psi around the mean style (1: none)");
  app.add_option("--interpolate", o.interpolate, "write a GIF walking between K latents in W space");
  app.add_option("--threads", threads, "CPU threads (default: all cores)");
  app.add_option("--device", o.device, "cpu or cuda (default: cuda if available)")->check(CLI::IsMember({"cpu", "cuda"}));
  CLI11_PARSE(app, argc, argv);
  try {
    sg::configure_cpu_runtime(threads);
    sg::SampleResult r = sg::write_samples(checkpoint, out, o);
    if (!r.note.empty()) std::fprintf(stderr, "sg_test: %s: %s\n", checkpoint.c_str(), r.note.c_str());
    std::printf("samples: %s\nstyle mixing: %s\n", r.samples.c_str(), r.mixing.c_str());
    if (!r.interpolation.empty()) std::printf("interpolation: %s\n", r.interpolation.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_test: error: %s\n", e.what());
    return 1;
  }
}
