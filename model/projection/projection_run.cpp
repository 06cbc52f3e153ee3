#include "model/projection/projection_run.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/images/animation.hpp"
#include "common/images/image_codec.hpp"
#include "common/images/image_grid.hpp"
#include "common/progress.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/core/drawing.hpp"
#include "model/evaluation/image_set.hpp"
#include "model/projection/image_similarity.hpp"
#include "model/projection/latent_file.hpp"

namespace sg {

namespace fs = std::filesystem;

ProjectTarget parse_project_target(const std::string& target) {
  ProjectTarget t;
  t.path = target;
  std::error_code error;
  const size_t colon = target.rfind(':');
  if (colon != std::string::npos && !fs::exists(target, error)) {
    const std::string split = target.substr(colon + 1);
    if (split != "train" && split != "validate" && split != "test")
      throw InputError(target, "unknown split \"" + split + "\" (train, validate or test)");
    t.path = target.substr(0, colon);
    t.split = split == "validate" ? VALIDATE : split == "test" ? TEST : TRAIN;
    t.lmdb = true;
  }
  if (fs::is_directory(t.path, error)) {
    if (!fs::exists(fs::path(t.path) / "data.mdb", error))
      throw InputError(t.path, "a folder without data.mdb: give a PNG file or an LMDB from sg_prep");
    t.lmdb = true;
    return t;
  }
  if (t.lmdb) throw InputError(t.path, "no LMDB folder here");
  if (!fs::is_regular_file(t.path, error)) throw InputError(t.path, "no such file");
  return t;
}

torch::Tensor read_target_png(const std::string& path, int size, int channels) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot read");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (sniff_image_format(bytes) != ImageFormat::Png) throw InputError(path, "not a PNG image");
  const Image8 image = decode_png8(bytes, path);
  if (image.width != size || image.height != size)
    throw InputError(path, "is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                               "; the checkpoint draws " + std::to_string(size) + "x" + std::to_string(size) +
                               " (sg_prep writes every size; or resize it)");
  if (image.channels != channels)
    throw InputError(path, std::string("has ") + (image.channels == 3 ? "3 channels (RGB)" : "1 channel (grey)") +
                               "; the checkpoint draws " + (channels == 3 ? "RGB images" : "grey images"));
  const torch::Tensor pixels = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                                                {size, size, channels}, torch::kUInt8);
  return pixels.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat) / 127.5 - 1;
}

Image8 residual_map(const torch::Tensor& target, const torch::Tensor& reconstruction) {
  // Channels averaged. A difference of 1 on the [-1, 1] scale is half the
  // intensity range: white.
  const torch::Tensor residual = (target - reconstruction.clamp(-1, 1)).abs().mean(1)[0].clamp(0, 1).contiguous();
  const int h = static_cast<int>(residual.size(0)), w = static_cast<int>(residual.size(1));
  Image8 image(w, h, 3);
  const float* v = residual.data_ptr<float>();
  for (size_t i = 0; i < static_cast<size_t>(w) * h; ++i) {
    auto channel = [&](float offset) {
      return static_cast<uint8_t>(std::lround(255 * std::min(1.f, std::max(0.f, 3 * v[i] - offset))));
    };
    image.pixels[3 * i] = channel(0);
    image.pixels[3 * i + 1] = channel(1);
    image.pixels[3 * i + 2] = channel(2);
  }
  return image;
}

namespace {

Image8 as_rgb(const Image8& image) {
  if (image.channels == 3) return image;
  Image8 rgb(image.width, image.height, 3);
  for (size_t i = 0; i < image.pixels.size(); ++i)
    for (int c = 0; c < 3; ++c) rgb.pixels[3 * i + static_cast<size_t>(c)] = image.pixels[i];
  return rgb;
}

// target | reconstruction | residual, each scaled up to at least 64 pixels.
Image8 panel(const torch::Tensor& target, const torch::Tensor& reconstruction) {
  const std::vector<Image8> pair = tensor_to_images(torch::cat({target, reconstruction}));
  return readable_grid({as_rgb(pair[0]), as_rgb(pair[1]), residual_map(target, reconstruction)}, 3);
}

struct Errors {
  double mse, mae, ssim;
};

Errors errors_of(const torch::Tensor& target, const torch::Tensor& reconstruction) {
  torch::NoGradGuard no_grad;
  const torch::Tensor d = (target - reconstruction.clamp(-1, 1)) / 2;  // intensity units, as saved
  return {d.square().mean().item<double>(), d.abs().mean().item<double>(),
          ssim(target, reconstruction).item<double>()};
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

ProjectReport run_projection(const ProjectRequest& request, const CheckpointOpener& open) {
  const ProjectTarget target = parse_project_target(request.target);
  DrawRequest draw;
  draw.device = request.device;
  draw.raw = request.raw;
  std::unique_ptr<CheckpointDrawer> generator = open(request.checkpoint, draw);
  const int size = generator->size(), channels = generator->channels();

  // Every target before any projection: a wrong size fails at once.
  std::vector<torch::Tensor> targets;
  std::vector<std::string> names;
  std::unique_ptr<LmdbReader> reader;
  if (target.lmdb) {
    reader = std::make_unique<LmdbReader>(target.path);
    reader->require_size(size);
    if (reader->channels() != channels)
      throw InputError(target.path, "holds " + std::to_string(reader->channels()) + "-channel images; the checkpoint draws " +
                                        std::to_string(channels));
    uint64_t n = reader->length(target.split);
    if (n == 0)
      throw InputError(target.path, std::string("the ") + split_display_name(target.split) + " split is empty");
    if (request.limit > 0) n = std::min<uint64_t>(n, static_cast<uint64_t>(request.limit));
    for (uint64_t i = 0; i < n; ++i) names.push_back(record_key(size, i));
  } else {
    targets.push_back(read_target_png(target.path, size, channels));
    names.push_back(fs::path(target.path).filename().string());
  }

  create_output_folder(request.out);
  const fs::path out(request.out);
  std::shared_ptr<FeatureNetwork> vgg;
  if (!request.vgg.empty()) vgg = std::make_shared<FeatureNetwork>(request.vgg, FeatureKind::Vgg, generator->device());
  const WStatistics w = measure_w(*generator, request.options.seed);

  ProjectReport report;
  report.note = generator->note();
  report.loss_name = vgg ? "lpips" : "mse+ms-ssim";
  LatentFile latents;
  latents.architecture = generator->architecture();
  latents.size = size;
  latents.w_plus_space = request.options.w_plus;
  latents.loss = report.loss_name;
  latents.checkpoint = request.checkpoint;
  latents.targets = names;
  std::vector<torch::Tensor> all_w;
  std::vector<std::vector<torch::Tensor>> all_noise(generator->noise_sizes().size());

  const auto start = std::chrono::steady_clock::now();
  const int steps = request.options.steps;
  ProgressLine progress(target.lmdb ? "projecting" : "projection steps",
                        target.lmdb ? names.size() * static_cast<uint64_t>(steps) : static_cast<uint64_t>(steps),
                        target.lmdb ? "images" : "steps", request.show_progress);
  std::ostringstream csv;
  csv << "index,record,mse,mae,ssim," << report.loss_name << "\n";
  if (target.lmdb) create_output_folder((out / "panels").string());
  for (size_t i = 0; i < names.size(); ++i) {
    const torch::Tensor goal =
        target.lmdb ? read_lmdb_images(*reader, target.split, size, {i}).to(torch::kFloat) / 127.5 - 1 : targets[0];
    const torch::Tensor goal_on_device = goal.to(generator->device());
    const ProjectionLoss loss(goal_on_device, vgg);
    ProjectionOptions options = request.options;
    if (target.lmdb) options.frame_every = 0;
    const Projection p = project(*generator, w, goal_on_device, loss, options, [&](int step) {
      progress.update(i * static_cast<uint64_t>(steps) + static_cast<uint64_t>(step) + 1,
                      target.lmdb ? i : static_cast<uint64_t>(step) + 1);
    });
    const Errors e = errors_of(goal, p.image);
    report.mse += e.mse;
    report.mae += e.mae;
    report.ssim += e.ssim;
    report.loss += p.loss;
    all_w.push_back(p.w_plus);
    for (size_t k = 0; k < p.noise.size(); ++k) all_noise[k].push_back(p.noise[k]);
    char row[256];
    std::snprintf(row, sizeof row, "%zu,%s,%.8g,%.8g,%.8g,%.8g\n", i, csv_field(names[i]).c_str(), e.mse, e.mae, e.ssim,
                  p.loss);
    csv << row;
    if (target.lmdb) {
      char name[32];
      std::snprintf(name, sizeof name, "%05zu.png", i);
      const std::string path = (out / "panels" / name).string();
      write_png(path, panel(goal, p.image));
      if (i == 0) report.first_panel = path;
    } else {
      write_png((out / "target.png").string(), tensor_to_images(goal)[0]);
      write_png((out / "reconstruction.png").string(), tensor_to_images(p.image)[0]);
      write_png((out / "residual.png").string(), residual_map(goal, p.image));
      report.first_panel = (out / "panel.png").string();
      write_png(report.first_panel, panel(goal, p.image));
      if (!p.frames.empty()) write_gif((out / "progress.gif").string(), p.frames, 10);
    }
  }
  progress.finish();
  const double n = static_cast<double>(names.size());
  report.images = static_cast<int64_t>(names.size());
  report.mse /= n;
  report.mae /= n;
  report.ssim /= n;
  report.loss /= n;
  latents.w_plus = torch::cat(all_w);
  for (auto& maps : all_noise) latents.noise.push_back(torch::cat(maps));
  report.latents = (out / "latents.pt").string();
  write_latent_file(report.latents, latents);
  if (target.lmdb) {
    report.csv = (out / "scores.csv").string();
    write_file_atomically(report.csv, csv.str(), "anomaly scores");
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace sg
