#include "model/evaluation/sampler.hpp"

#include <filesystem>

#include "model/stylegan2/sampling.hpp"
#include "model/training/checkpoint.hpp"
#include "model/training/gan.hpp"
#include "model/devices/device.hpp"
#include "pipeline/atomic_file.hpp"
#include "pipeline/errors.hpp"
#include "stages/animation.hpp"
#include "stages/image_codec.hpp"
#include "stages/image_grid.hpp"

namespace sg {

namespace fs = std::filesystem;

torch::Tensor mean_style(StyledGenerator& generator, torch::Generator& rng, torch::Device device) {
  torch::NoGradGuard no_grad;
  torch::Tensor total;
  for (int i = 0; i < 10; ++i) {
    auto w = generator->mean_style(torch::randn({1024, generator->config.style_dim}, rng).to(device));
    total = i == 0 ? w : total + w;
  }
  return total / 10;
}

torch::Tensor generate(StyledGenerator& generator, const torch::Tensor& z, int step, double alpha,
                       const torch::Tensor& mean_w, double psi, const std::vector<torch::Tensor>& noise) {
  torch::NoGradGuard no_grad;
  GenerateOptions o;
  o.mean_style = mean_w;
  o.style_weight = psi;
  for (const auto& n : noise) o.noise.push_back(n.expand({z.size(0), -1, -1, -1}));
  return generator->forward({z}, step, alpha, o);
}

std::vector<torch::Tensor> mixing_cells(StyledGenerator& generator, const torch::Tensor& source_z,
                                        const torch::Tensor& destination_z, int step, double alpha,
                                        const torch::Tensor& mean_w, double psi,
                                        const std::vector<torch::Tensor>& noise) {
  torch::NoGradGuard no_grad;
  const int64_t cols = source_z.size(0), rows = destination_z.size(0);
  auto sources = generate(generator, source_z, step, alpha, mean_w, psi, noise);
  auto destinations = generate(generator, destination_z, step, alpha, mean_w, psi, noise);
  std::vector<torch::Tensor> cells;
  cells.push_back(torch::full_like(sources[0], -1.0));  // the black corner
  for (int64_t c = 0; c < cols; ++c) cells.push_back(sources[c]);
  for (int64_t r = 0; r < rows; ++r) {
    cells.push_back(destinations[r]);
    GenerateOptions o;
    o.mean_style = mean_w;
    o.style_weight = psi;
    o.mixing_range = std::make_pair(0, 1);  // styles[1] (the source) in the coarse blocks
    for (const auto& n : noise) o.noise.push_back(n.expand({cols, -1, -1, -1}));
    auto mixed = generator->forward({destination_z[r].unsqueeze(0).expand({cols, -1}), source_z}, step, alpha, o);
    for (int64_t c = 0; c < cols; ++c) cells.push_back(mixed[c]);
  }
  return cells;
}

torch::Tensor to_uint8_images(const torch::Tensor& batch) {
  const torch::Tensor values = batch.detach().to(torch::kCPU);
  if (!torch::isfinite(values).all().item<bool>()) throw NonFiniteOutput();
  return ((values.clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8);
}

std::vector<Image8> tensor_to_images(const torch::Tensor& batch) { return uint8_to_images(to_uint8_images(batch)); }

std::vector<Image8> uint8_to_images(const torch::Tensor& planar) {
  auto bytes = planar.permute({0, 2, 3, 1}).contiguous();
  std::vector<Image8> images;
  for (int64_t i = 0; i < bytes.size(0); ++i) {
    Image8 image(static_cast<int>(bytes.size(2)), static_cast<int>(bytes.size(1)), static_cast<int>(bytes.size(3)));
    std::memcpy(image.pixels.data(), bytes[i].data_ptr<uint8_t>(), image.pixels.size());
    images.push_back(std::move(image));
  }
  return images;
}

void write_png(const std::string& path, const Image8& image) {
  write_file_atomically(path, encode_png(image, 6), "PNG");
}

StyledGenerator load_sampling_generator(const std::string& checkpoint, const CheckpointMeta& meta, torch::Device device,
                                        bool raw) {
  StyledGenerator generator(meta.model);
  load_ema_generator(checkpoint, generator, raw);
  generator->to(device);
  generator->eval();
  return generator;
}

torch::Tensor generate_images(const ImageDrawer& draw, int64_t n, int batch,
                              const std::function<void(int64_t)>& on_batch) {
  torch::NoGradGuard no_grad;
  torch::Tensor images;
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min<int64_t>(batch, n - first);
    const torch::Tensor drawn = draw(count);
    if (!images.defined()) images = torch::empty({n, drawn.size(1), drawn.size(2), drawn.size(3)}, torch::kUInt8);
    images.slice(0, first, first + count).copy_(drawn);
    if (on_batch) on_batch(first + count);
  }
  return images;
}

torch::Tensor generate_images(StyledGenerator& generator, int64_t n, int step, double alpha, torch::Generator& rng,
                              torch::Device device, int batch, const torch::Tensor& mean_w, double psi,
                              const std::function<void(int64_t)>& on_batch) {
  auto draw = [&](int64_t count) {
    GenerateOptions options;
    if (mean_w.defined()) {
      options.mean_style = mean_w;
      options.style_weight = psi;
    }
    const auto z = torch::randn({count, generator->config.style_dim}, rng).to(device);
    for (int i = 0; i <= step; ++i)
      options.noise.push_back(torch::randn({count, 1, size_for_step(i), size_for_step(i)}, rng).to(device));
    return to_uint8_images(generator->forward({z}, step, alpha, options));
  };
  return generate_images(draw, n, batch, on_batch);
}

DrawPlan plan_drawing(const std::string& checkpoint, const CheckpointMeta& meta, int size) {
  const int first = std::max(meta.init_size, 8), last = size_for_step(meta.trained_step);
  std::string can;
  for (int s = first; s <= last; s *= 2) can += (can.empty() ? "" : ", ") + std::to_string(s);
  if (size < first || size > last || (size & (size - 1)) != 0)
    throw InputError(checkpoint, "cannot draw " + std::to_string(size) + "x" + std::to_string(size) +
                                     ": it was trained to sizes " + can);
  DrawPlan plan;
  plan.step = step_for_size(size);
  // The trained top size may be mid fade-in; smaller sizes are finished.
  plan.alpha = plan.step == meta.trained_step ? meta.alpha : 1.0;
  return plan;
}

namespace {

SampleResult write_stylegan_samples(const std::string& checkpoint, const std::string& out_dir,
                                    const SampleOptions& options) {
  const CheckpointMeta meta = read_checkpoint_meta(checkpoint);
  const DrawPlan plan = plan_drawing(checkpoint, meta, options.size);
  const int step = plan.step;
  const double alpha = plan.alpha;

  const torch::Device device = resolve_device(options.device);
  StyledGenerator generator = load_sampling_generator(checkpoint, meta, device);

  torch::Generator rng = at::detail::createCPUGenerator(options.seed);
  const torch::Tensor mean_w = mean_style(generator, rng, device);
  std::vector<torch::Tensor> noise;
  for (int i = 0; i <= step; ++i) noise.push_back(torch::randn({1, 1, 4 << i, 4 << i}, rng).to(device));
  const int style_dim = meta.model.style_dim;
  auto z = [&](int n) { return torch::randn({n, style_dim}, rng).to(device); };

  SampleResult result;
  result.note = meta.note;
  const torch::Tensor sample_z = z(options.rows * options.cols);
  const Image8 samples = make_grid(
      tensor_to_images(generate(generator, sample_z, step, alpha, mean_w, options.truncation, noise)), options.cols);
  auto cells = mixing_cells(generator, z(options.cols), z(options.rows), step, alpha, mean_w, options.truncation, noise);
  const Image8 mixing = make_grid(tensor_to_images(torch::stack(cells)), options.cols + 1);
  // Written once both are drawn: a diverged model (NonFiniteOutput) leaves no picture.
  create_output_folder(out_dir);
  result.samples = (fs::path(out_dir) / "sample.png").string();
  write_png(result.samples, samples);
  result.mixing = (fs::path(out_dir) / "sample_mixing.png").string();
  write_png(result.mixing, mixing);

  if (options.interpolate >= 2) {
    // Linear walks between consecutive W of K latents, and back to the first.
    torch::NoGradGuard no_grad;
    const int k = options.interpolate, frames_between = 12;
    auto w = generator->style->forward(z(k));
    w = mean_w + options.truncation * (w - mean_w);
    std::vector<Image8> frames;
    for (int i = 0; i < k; ++i)
      for (int f = 0; f < frames_between; ++f) {
        const double t = static_cast<double>(f) / frames_between;
        auto wt = (1 - t) * w[i] + t * w[(i + 1) % k];
        std::vector<torch::Tensor> noise_one(noise.begin(), noise.end());
        auto image = generator->generator->forward({wt.unsqueeze(0)}, noise_one, step, alpha, -1, std::nullopt);
        frames.push_back(tensor_to_images(image)[0]);
      }
    result.interpolation = (fs::path(out_dir) / "interpolation.gif").string();
    write_gif(result.interpolation, frames, 8);
  }
  return result;
}

}  // namespace

SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options) {
  if (options.interpolate == 1) throw std::invalid_argument("--interpolate 1: a walk needs at least 2 latents (0: none)");
  try {
    if (checkpoint_architecture(checkpoint) == Architecture::StyleGan2)
      return stylegan2::write_samples(checkpoint, out_dir, options);
    return write_stylegan_samples(checkpoint, out_dir, options);
  } catch (const NonFiniteOutput& e) {
    throw InputError(checkpoint, std::string(e.what()) + "; no pictures written");
  }
}

}  // namespace sg