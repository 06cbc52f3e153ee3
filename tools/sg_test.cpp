// sg_test CKPT --size N: sample and style-mixing grids from a checkpoint's
// EMA generator, as the reference's generate.py / test.py; with --n, that
// many numbered images (PNG files or an LMDB) with a manifest: synthetic data.
#include <cstdio>

#include "common/cli.hpp"
#include "common/progress.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/export.hpp"
#include "model/evaluation/samples.hpp"
#include "model/projection/latent_file.hpp"
#include "model/training/gan_factory.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_test: sample and style-mixing grids from a checkpoint"};
  std::string checkpoint, out = "samples";
  sg::SampleOptions o;
  int threads = 0;
  app.add_option("checkpoint", checkpoint, "checkpoint from sg_train")->required()->check(CLI::ExistingFile);
  sg::cli::add_choice(app, "--size", o.size, "resolution to draw", {4, 8, 16, 32, 64, 128, 256, 512, 1024})->required();
  app.add_option("--out", out, "output folder");
  sg::cli::add_number(app, "--n_row,--n-row", o.rows, "rows (destinations in the mixing grid)", sg::cli::between(1, 64));
  sg::cli::add_number(app, "--n_col,--n-col", o.cols, "columns (sources in the mixing grid)", sg::cli::between(1, 64));
  sg::cli::add_number(app, "--seed", o.seed, "seed of latents and noise", sg::cli::any_number());
  sg::cli::add_number(app, "--truncation", o.truncation,
                      "psi around the mean style (0: the mean, 1: none, above 1: exaggerated)", sg::cli::between(0, 2));
  sg::cli::add_number(app, "--interpolate", o.interpolate,
                      "write a GIF walking between K latents in W space (K at least 2; 0: none)", sg::cli::between(0, 64));
  sg::cli::add_number(app, "--threads", threads, "CPU threads (0, the default: all cores)", sg::cli::between(0, 1024));
  app.add_option("--device", o.device, "cpu or cuda (default: cuda if available)")->check(CLI::IsMember({"cpu", "cuda"}));
  sg::ExportOptions e;
  std::string format = "png";
  sg::cli::add_number(app, "--n", e.n, "synthetic data: this many numbered images (with a manifest) instead of grids",
                      sg::cli::between(1, 1e9));
  app.add_option("--format", format, "with --n: png (a folder of files) or lmdb (our layout, every size from 8)")
      ->check(CLI::IsMember({"png", "lmdb"}));
  sg::cli::add_number(app, "--start-index,--start_index", e.start_index,
                      "with --n: write from this index on (after an interruption)", sg::cli::at_least(0));
  sg::cli::add_number(app, "--batch", e.batch, "with --n: images per forward pass (default 32)", sg::cli::between(1, 4096));
  app.add_option("--class", o.class_name,
                 "a conditional checkpoint: draw this class (its mixing grid within the class), or 'all': a folder per class");
  std::string latents;
  app.add_option("--latents", latents, "draw the latents sg_project wrote (latents.pt) instead of grids")
      ->check(CLI::ExistingFile);
  if (int code = sg::cli::parse_flags(app, argc, argv, "sg_test"); code >= 0) return code;
  try {
    sg::configure_cpu_runtime(threads);
    if (!latents.empty()) {
      if (e.n > 0) throw std::invalid_argument("--latents and --n exclude each other");
      const sg::LatentDrawing r = sg::write_latent_images(checkpoint, latents, out, o.size, o.device, sg::open_checkpoint);
      std::printf("%lld image(s) of %s in %s, grid: %s\n", static_cast<long long>(r.images), latents.c_str(),
                  out.c_str(), r.grid.c_str());
      return 0;
    }
    if (e.n > 0) {
      e.size = o.size;
      e.seed = o.seed;
      e.truncation = app.count("--truncation") > 0 ? o.truncation : 1.0;
      e.device = o.device;
      e.format = format == "lmdb" ? sg::ExportFormat::Lmdb : sg::ExportFormat::Png;
      e.show_progress = sg::stderr_is_terminal();
      e.class_name = o.class_name;
      if (app.count("--out") == 0) out = format == "lmdb" ? "synthetic.lmdb" : "synthetic";
      const sg::ExportResult r = sg::export_synthetic(checkpoint, out, e, sg::open_checkpoint);
      if (!r.note.empty()) std::fprintf(stderr, "sg_test: %s: %s\n", checkpoint.c_str(), r.note.c_str());
      std::printf("%lld images in %s (%.1f images/s), manifest: %s\n", static_cast<long long>(r.written), r.out.c_str(),
                  r.seconds > 0 ? r.written / r.seconds : 0.0, r.manifest.c_str());
      return 0;
    }
    for (const char* flag : {"--format", "--start-index", "--batch"})
      if (app.count(flag) > 0) throw std::invalid_argument(std::string(flag) + " needs --n");
    if (o.class_name == "all") {
      for (const sg::ClassSamples& c : sg::write_samples_per_class(checkpoint, out, o, sg::open_checkpoint)) {
        if (!c.result.note.empty()) std::fprintf(stderr, "sg_test: %s: %s\n", checkpoint.c_str(), c.result.note.c_str());
        std::printf("%s: samples: %s, style mixing: %s\n", c.class_name.c_str(), c.result.samples.c_str(),
                    c.result.mixing.c_str());
      }
      return 0;
    }
    sg::SampleResult r = sg::write_samples(checkpoint, out, o, sg::open_checkpoint);
    if (!r.note.empty()) std::fprintf(stderr, "sg_test: %s: %s\n", checkpoint.c_str(), r.note.c_str());
    std::printf("samples: %s\nstyle mixing: %s\n", r.samples.c_str(), r.mixing.c_str());
    if (!r.interpolation.empty()) std::printf("interpolation: %s\n", r.interpolation.c_str());
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("sg_test", e);
    return 1;
  }
}
