// sg_eval FAKE REAL --size N: sliced Wasserstein distance and a
// memorisation check of generated images against real ones, with the
// real-vs-real baseline beside them. Thin: flags, then the library's evaluate().
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "model/devices/device.hpp"
#include "model/evaluation/evaluate.hpp"
#include "pipeline/progress.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_eval: how close generated images are to real ones, and whether they replay training images"};
  sg::EvalOptions o;
  std::string split = "train", json, pairs;
  int threads = 0;
  bool quiet = false;
  app.add_option("fake", o.fake, "checkpoint (images drawn on the fly), dataset LMDB or folder of PNG/JPEG images")
      ->required();
  app.add_option("real", o.real, "dataset LMDB or folder of PNG/JPEG images")->required();
  app.add_option("--size", o.size, "resolution to compare at (16 or more)")->required();
  app.add_option("--split", split, "split of REAL to compare with")->check(CLI::IsMember({"train", "validate", "test"}));
  app.add_option("--n", o.n, "images per set")->check(CLI::Range(2, 10000000));
  app.add_option("--json", json, "write the report as JSON here");
  app.add_option("--pairs", pairs, "PNG of the closest generated/training pairs (default: beside --json, else "
                                   "closest_pairs.png)");
  app.add_option("--seed", o.seed, "seed of the samples, patches, directions and latents");
  app.add_option("--truncation", o.truncation, "psi for a checkpoint (1: none)");
  std::string generator = "ema";
  app.add_option("--generator", generator, "for a checkpoint: ema (g_running, default) or raw (the trained generator)")
      ->check(CLI::IsMember({"ema", "raw"}));
  app.add_option("--batch", o.batch, "generation batch size")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads (default: all cores)");
  app.add_option("--device", o.device, "cpu or cuda for a checkpoint (default: cuda if available)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--quiet", quiet, "no progress lines");
  CLI11_PARSE(app, argc, argv);

  o.raw_generator = generator == "raw";
  o.split = split == "validate" ? sg::VALIDATE : split == "test" ? sg::TEST : sg::TRAIN;
  o.show_progress = !quiet && sg::stderr_is_terminal();
  if (!pairs.empty()) o.pairs_png = pairs;
  else if (!json.empty()) o.pairs_png = (std::filesystem::path(json).replace_extension("").string() + "_closest_pairs.png");
  else o.pairs_png = "closest_pairs.png";
  try {
    sg::configure_cpu_runtime(threads);
    const sg::EvalReport report = sg::evaluate(o);
    if (!report.fake_note.empty()) std::fprintf(stderr, "sg_eval: %s: %s\n", o.fake.c_str(), report.fake_note.c_str());
    std::printf("%s", sg::format_report(report).c_str());
    if (!json.empty()) {
      const std::string partial = json + ".partial";
      {
        std::ofstream out(partial, std::ios::binary);
        out << sg::report_json(report);
        if (!out.flush()) throw std::runtime_error(json + ": cannot write");
      }
      std::filesystem::rename(partial, json);
      std::printf("report: %s\n", json.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_eval: error: %s\n", e.what());
    return 1;
  }
}
