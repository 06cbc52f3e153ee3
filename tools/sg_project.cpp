// sg_project CKPT --target PNG|LMDB[:split] --out DIR: finds the latent
// (W or W+) and noise maps whose image is closest to a real scan, as
// stylegan2-ada-pytorch's projector.py does, and writes the latents (for
// sg_test --latents), the reconstruction, a residual map and a progress
// GIF; for an LMDB split, a CSV of per-image reconstruction errors.
#include <cstdio>
#include <cstdlib>

#include "common/cli.hpp"
#include "common/progress.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/feature_network.hpp"
#include "model/projection/projection_run.hpp"
#include "model/training/gan_factory.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_project: invert a generator on a scan (or every scan of an LMDB split)"};
  sg::ProjectRequest r;
  r.out = "projection";
  std::string space = "w+";
  int threads = 0;
  app.add_option("checkpoint", r.checkpoint, "checkpoint from sg_train (either architecture)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--target", r.target, "a PNG of the checkpoint's size and channels, or LMDB[:train|validate|test]")
      ->required();
  app.add_option("--out", r.out, "output folder (default: projection)");
  app.add_option("--vgg", r.vgg,
                 "VGG16 TorchScript file (NVIDIA's vgg16.pt) for the LPIPS distance (default: $SG_VGG; "
                 "without either: pixel MSE + (1 - MS-SSIM))");
  app.add_option("--space", space, "w+ (one w per layer, the default) or w (one w for all)")
      ->check(CLI::IsMember({"w", "w+"}));
  sg::cli::add_number(app, "--steps", r.options.steps, "optimisation steps per image (default 1000)",
                      sg::cli::between(1, 1000000));
  sg::cli::add_number(app, "--lr", r.options.learning_rate, "Adam's peak learning rate (default 0.1)",
                      sg::cli::between(1e-6, 10));
  sg::cli::add_number(app, "--noise-weight,--noise_weight", r.options.noise_weight,
                      "weight of the noise maps' structure penalty (default 1e5)", sg::cli::between(0, 1e12));
  sg::cli::add_number(app, "--limit", r.limit, "an LMDB split: at most this many images (default: all)",
                      sg::cli::between(1, 1e12));
  sg::cli::add_number(app, "--seed", r.options.seed, "seed of w's statistics, jitter and the noise maps' start",
                      sg::cli::any_number());
  sg::cli::add_number(app, "--frame-every,--frame_every", r.options.frame_every,
                      "one image: a progress frame every N steps (default: 50 frames in all)",
                      sg::cli::between(1, 1000000));
  sg::cli::add_number(app, "--w-prior,--w_prior", r.options.w_prior,
                      "weight of a prior keeping w among typical latents (default 0, as the anchors; anomaly maps: "
                      "e.g. 0.05)", sg::cli::between(0, 1e6));
  bool fixed_noise = false;
  app.add_flag("--fixed-noise,--fixed_noise", fixed_noise,
               "keep the noise maps at their random start, fit w only (anomaly maps: the per-pixel noise "
               "would otherwise paint in what the generator does not model)");
  app.add_flag("--raw", r.raw, "the trained generator instead of its moving average");
  sg::cli::add_number(app, "--threads", threads, "CPU threads (0, the default: all cores)", sg::cli::between(0, 1024));
  app.add_option("--device", r.device, "cpu or cuda (default: cuda if available)")->check(CLI::IsMember({"cpu", "cuda"}));
  if (int code = sg::cli::parse_flags(app, argc, argv, "sg_project"); code >= 0) return code;
  try {
    sg::configure_cpu_runtime(threads);
    r.options.w_plus = space == "w+";
    r.options.optimize_noise = !fixed_noise;
    if (app.count("--frame-every") == 0) r.options.frame_every = std::max(1, r.options.steps / 50);
    if (r.vgg.empty())
      if (const char* env = std::getenv("SG_VGG")) r.vgg = env;
    if (!r.vgg.empty()) r.vgg = sg::resolve_feature_file(sg::FeatureKind::Vgg, r.vgg, "sg_project's LPIPS");
    r.show_progress = sg::stderr_is_terminal();
    const sg::ProjectReport report = sg::run_projection(r, sg::open_checkpoint);
    if (!report.note.empty()) std::fprintf(stderr, "sg_project: %s: %s\n", r.checkpoint.c_str(), report.note.c_str());
    std::printf("%lld image(s) projected in %.1f s (%.2f s per image, %d steps, %s, %s)\n",
                static_cast<long long>(report.images), report.seconds, report.seconds / report.images,
                r.options.steps, r.options.w_plus ? "W+" : "W", report.loss_name.c_str());
    std::printf("%s: MSE %.5f, mean |error| %.4f, SSIM %.4f, %s %.5f (intensities in [0, 1])\n",
                report.images > 1 ? "mean reconstruction" : "reconstruction", report.mse, report.mae, report.ssim,
                report.loss_name.c_str(), report.loss);
    std::printf("latents: %s\n", report.latents.c_str());
    if (!report.csv.empty()) std::printf("anomaly scores: %s\npanels: %s/panels\n", report.csv.c_str(), r.out.c_str());
    else std::printf("target | reconstruction | residual: %s\n", report.first_panel.c_str());
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("sg_project", e);
    return 1;
  }
}
