#include "model/stylegan2/sampling.hpp"

#include <filesystem>

#include "model/devices/device.hpp"
#include "model/stylegan2/checkpoint.hpp"
#include "pipeline/atomic_file.hpp"
#include "pipeline/errors.hpp"
#include "stages/animation.hpp"
#include "stages/image_grid.hpp"

namespace sg::stylegan2 {

namespace fs = std::filesystem;

namespace {

// One noise map per layer, shared by every image of a picture.
std::vector<torch::Tensor> shared_noise(const Config& config, int64_t count, torch::Generator& rng,
                                        torch::Device device) {
  std::vector<torch::Tensor> noise;
  for (int layer = 0; layer < config.num_layers(); ++layer) {
    const int64_t res = int64_t{1} << ((layer + 5) / 2);
    noise.push_back(torch::randn({1, 1, res, res}, rng).to(device).expand({count, 1, res, res}));
  }
  return noise;
}

std::vector<torch::Tensor> expanded(const std::vector<torch::Tensor>& noise, int64_t count) {
  std::vector<torch::Tensor> out;
  for (const auto& n : noise) out.push_back(n.narrow(0, 0, 1).expand({count, -1, -1, -1}));
  return out;
}

}  // namespace

Generator load_for_drawing(const std::string& checkpoint, int size, torch::Device device, bool raw, std::string* note) {
  const CheckpointInfo info = read_checkpoint_info(checkpoint);
  if (size != 0 && size != info.config.size)
    throw InputError(checkpoint, "cannot draw " + std::to_string(size) + "x" + std::to_string(size) +
                                     ": a StyleGAN2 checkpoint draws its one size, " + std::to_string(info.config.size) +
                                     "x" + std::to_string(info.config.size));
  if (note) *note = info.note;
  Generator generator(info.config);
  load_generator(checkpoint, generator, raw);
  generator->to(device);
  generator->eval();
  return generator;
}

torch::Tensor mean_latent(Generator& generator, torch::Generator& rng, torch::Device device) {
  torch::NoGradGuard no_grad;
  torch::Tensor total;
  for (int i = 0; i < 10; ++i) {
    auto w = generator->style->forward(torch::randn({1024, generator->config.style_dim}, rng).to(device)).mean(0, true);
    total = i == 0 ? w : total + w;
  }
  return total / 10;
}

int coarse_entries(const Config& config) { return config.size >= 16 ? 4 : 2; }

SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options) {
  const torch::Device device = resolve_device(options.device);
  SampleResult result;
  Generator generator = load_for_drawing(checkpoint, options.size, device, false, &result.note);
  const Config& config = generator->config;
  torch::NoGradGuard no_grad;
  torch::Generator rng = at::detail::createCPUGenerator(options.seed);
  const torch::Tensor mean_w = mean_latent(generator, rng, device);
  const std::vector<torch::Tensor> noise = shared_noise(config, 1, rng, device);
  auto z = [&](int n) { return torch::randn({n, config.style_dim}, rng).to(device); };
  auto draw = [&](const std::vector<torch::Tensor>& styles, int inject) {
    SynthesisOptions o;
    o.truncation_latent = mean_w;
    o.truncation = options.truncation;
    o.inject_index = inject;
    o.noise = expanded(noise, styles[0].size(0));
    return generator->forward(styles, o).image;
  };

  const torch::Tensor sample_z = z(options.rows * options.cols);
  const Image8 samples = make_grid(tensor_to_images(draw({sample_z}, -1)), options.cols);

  const torch::Tensor source_z = z(options.cols), destination_z = z(options.rows);
  const torch::Tensor sources = draw({source_z}, -1), destinations = draw({destination_z}, -1);
  std::vector<torch::Tensor> cells{torch::full_like(sources[0], -1.0)};  // the black corner
  for (int64_t c = 0; c < options.cols; ++c) cells.push_back(sources[c]);
  for (int64_t r = 0; r < options.rows; ++r) {
    cells.push_back(destinations[r]);
    // The source's W in the coarse entries, the destination's in the rest.
    const torch::Tensor mixed =
        draw({source_z, destination_z[r].unsqueeze(0).expand({options.cols, -1})}, coarse_entries(config));
    for (int64_t c = 0; c < options.cols; ++c) cells.push_back(mixed[c]);
  }
  const Image8 mixing = make_grid(tensor_to_images(torch::stack(cells)), options.cols + 1);
  // Written once both are drawn: a diverged model (NonFiniteOutput) leaves no picture.
  create_output_folder(out_dir);
  result.samples = (fs::path(out_dir) / "sample.png").string();
  write_png(result.samples, samples);
  result.mixing = (fs::path(out_dir) / "sample_mixing.png").string();
  write_png(result.mixing, mixing);

  if (options.interpolate >= 2) {
    const int k = options.interpolate, frames_between = 12;
    torch::Tensor w = generator->style->forward(z(k));
    w = mean_w + options.truncation * (w - mean_w);
    std::vector<Image8> frames;
    for (int i = 0; i < k; ++i)
      for (int f = 0; f < frames_between; ++f) {
        const double t = static_cast<double>(f) / frames_between;
        SynthesisOptions o;
        o.input_is_latent = true;
        o.noise = expanded(noise, 1);
        const torch::Tensor wt = ((1 - t) * w[i] + t * w[(i + 1) % k]).unsqueeze(0);
        frames.push_back(tensor_to_images(generator->forward({wt}, o).image)[0]);
      }
    result.interpolation = (fs::path(out_dir) / "interpolation.gif").string();
    write_gif(result.interpolation, frames, 8);
  }
  return result;
}

}  // namespace sg::stylegan2
