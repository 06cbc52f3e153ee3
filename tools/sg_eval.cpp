// sg_eval FAKE REAL --size N: sliced Wasserstein distance and a
// memorisation check of generated images against real ones, with the
// real-vs-real baseline beside them; with --metrics fid,kid,pr also the
// field's feature metrics. Thin: flags, then the library's evaluate().
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/cli.hpp"
#include "common/progress.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/evaluate.hpp"
#include "model/training/gan_factory.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_eval: how close generated images are to real ones, and whether they replay training images"};
  sg::EvalOptions o;
  std::string split = "train", json, pairs;
  int threads = 0;
  bool quiet = false;
  app.add_option("fake", o.fake, "checkpoint (images drawn on the fly), dataset LMDB or folder of PNG/JPEG images")
      ->required();
  app.add_option("real", o.real, "dataset LMDB or folder of PNG/JPEG images")->required();
  sg::cli::add_choice(app, "--size", o.size, "resolution to compare at", {16, 32, 64, 128, 256, 512, 1024})->required();
  app.add_option("--split", split, "split of REAL to compare with")->check(CLI::IsMember({"train", "validate", "test"}));
  sg::cli::add_number(app, "--n", o.n, "images per set", sg::cli::between(2, 10000000));
  app.add_option("--json", json, "write the report as JSON here");
  app.add_option("--pairs", pairs, "PNG of the closest generated/training pairs (default: beside --json, else "
                                   "closest_pairs.png)");
  sg::cli::add_number(app, "--seed", o.seed, "seed of the samples, patches, directions and latents", sg::cli::any_number());
  sg::cli::add_number(app, "--truncation", o.truncation, "psi for a checkpoint (1: none)", sg::cli::between(0, 2));
  std::string generator = "ema";
  app.add_option("--generator", generator, "for a checkpoint: ema (g_running, default) or raw (the trained generator)")
      ->check(CLI::IsMember({"ema", "raw"}));
  sg::cli::add_number(app, "--batch", o.batch, "generation batch size", sg::cli::between(1, 4096));
  sg::cli::add_number(app, "--threads", threads, "CPU threads (0, the default: all cores)", sg::cli::between(0, 1024));
  app.add_option("--device", o.device, "cpu or cuda for a checkpoint (default: cuda if available)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--class", o.class_name,
                 "compare one class (NAME) or the whole sets and then every class (all): a conditional checkpoint "
                 "or a labelled LMDB against a labelled LMDB");
  app.add_flag("--audit", o.audit,
               "per training patient: how many generated images are copies of that patient's images (REAL: an "
               "sg_prep LMDB, which keeps each record's subject); a ranked CSV and a picture of the closest pairs");
  app.add_flag("--quiet", quiet, "no progress lines");
  std::string metrics = "swd";
  app.add_option("--metrics", metrics,
                 "comma-separated: swd (SWD, memorisation, pixel precision/recall, border; the default), fid, kid "
                 "(Inception-v3 features), pr (VGG16 features; with density/coverage), as stylegan2-ada-pytorch's "
                 "fid50k_full, kid50k_full, pr50k3_full");
  sg::FeatureMetricOptions& f = o.feature_metrics;
  app.add_option("--inception", f.inception, "Inception-v3 TorchScript file inception-2015-12-05.pt for fid and kid "
                                             "(default: $SG_INCEPTION)");
  app.add_option("--vgg", f.vgg, "VGG16 TorchScript file vgg16.pt for pr (default: $SG_VGG)");
  app.add_option("--features", f.features, "any TorchScript feature network (uint8 NCHW RGB in, [n, d] out) for a "
                                           "domain FID beside the others");
  std::string cache;
  app.add_option("--cache", cache, "folder of cached real-image features (default: $XDG_CACHE_HOME/sg-metrics or "
                                   "~/.cache/sg-metrics)");
  bool no_cache = false;
  app.add_flag("--no-cache", no_cache, "measure the real images' features afresh and keep nothing");
  if (int code = sg::cli::parse_flags(app, argc, argv, "sg_eval"); code >= 0) return code;

  if (const std::string problem = sg::parse_metric_list(metrics, o.pixel_metrics, f); !problem.empty()) {
    std::fprintf(stderr, "sg_eval: error: --metrics: %s\n", problem.c_str());
    return 2;
  }
  if (o.audit && !o.pixel_metrics) {
    std::fprintf(stderr, "sg_eval: error: --audit measures pixel distances: keep swd in --metrics\n");
    return 2;
  }
  // The feature metrics' generated count: stylegan2-ada-pytorch's 50,000 unless --n says otherwise.
  if (app.get_option("--n")->count() > 0) o.feature_images = o.n;
  if (!no_cache) f.cache_dir = cache.empty() ? sg::default_feature_cache_dir() : cache;

  if (app.get_option("--class")->count() > 0 && o.class_name.empty()) {
    std::fprintf(stderr, "sg_eval: error: --class: a class name or all\n");
    return 2;
  }
  o.raw_generator = generator == "raw";
  o.split = split == "validate" ? sg::VALIDATE : split == "test" ? sg::TEST : sg::TRAIN;
  o.show_progress = !quiet && sg::stderr_is_terminal();
  if (!pairs.empty()) o.pairs_png = pairs;
  else if (!json.empty()) o.pairs_png = (std::filesystem::path(json).replace_extension("").string() + "_closest_pairs.png");
  else o.pairs_png = "closest_pairs.png";
  const std::string stem = json.empty() ? "" : std::filesystem::path(json).replace_extension("").string() + "_";
  o.audit_csv = stem + "audit.csv";
  o.audit_png = stem + "audit_pairs.png";
  try {
    sg::configure_cpu_runtime(threads);
    const sg::EvalReport report = sg::evaluate(o, sg::open_checkpoint);
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
    sg::cli::print_error("sg_eval", e);
    return 1;
  }
}
