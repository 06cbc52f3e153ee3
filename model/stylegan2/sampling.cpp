#include "model/stylegan2/sampling.hpp"


#include "common/errors.hpp"
#include "common/images/image_grid.hpp"
#include "model/core/ema.hpp"
#include "model/devices/device.hpp"
#include "model/stylegan2/checkpoint.hpp"

namespace sg::stylegan2 {


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
  // Drawn from, never trained: a projection's gradients stop at its inputs.
  set_requires_grad(*generator, false);
  return generator;
}

torch::Tensor drawing_labels(const Config& config, int64_t count, int class_index, torch::Device device,
                             int64_t first) {
  if (config.classes == 0) return {};
  const torch::Tensor labels = class_index >= 0 ? torch::full({count}, class_index, torch::kLong)
                                                : torch::arange(first, first + count, torch::kLong) % config.classes;
  return labels.to(device);
}

torch::Tensor mean_latent(Generator& generator, torch::Generator& rng, torch::Device device, int class_index) {
  torch::NoGradGuard no_grad;
  torch::Tensor total;
  const torch::Tensor labels = drawing_labels(generator->config, 1024, class_index, device);
  for (int i = 0; i < 10; ++i) {
    auto w = generator->map(torch::randn({1024, generator->config.style_dim}, rng).to(device), labels).mean(0, true);
    total = i == 0 ? w : total + w;
  }
  return total / 10;
}

int coarse_entries(const Config& config) { return config.size >= 16 ? 4 : 2; }

torch::Tensor draw_uint8(Generator& generator, int64_t count, torch::Generator& rng, torch::Device device,
                         const torch::Tensor& mean_w, double psi, int class_index) {
  torch::NoGradGuard no_grad;
  const Config& c = generator->config;
  const torch::Tensor z = torch::randn({count, c.style_dim}, rng).to(device);
  SynthesisOptions options;
  options.labels = drawing_labels(c, count, class_index, device);
  for (int layer = 0; layer < c.num_layers(); ++layer) {
    const int64_t res = int64_t{1} << ((layer + 5) / 2);
    options.noise.push_back(torch::randn({count, 1, res, res}, rng).to(device));
  }
  if (mean_w.defined()) {
    options.truncation_latent = mean_w;
    options.truncation = psi;
  }
  return to_uint8_images(generator->forward(std::vector{z}, options).image);
}

namespace {

// A StyleGAN2 checkpoint's generator (its one size); its noise is a map per
// layer, not per block.
class StyleGan2Drawer : public CheckpointDrawer {
 public:
  StyleGan2Drawer(const std::string& checkpoint, const DrawRequest& request)
      : device_(resolve_device(request.device)), raw_(request.raw),
        generator_(load_for_drawing(checkpoint, request.size, device_, request.raw, &note_)),
        class_names_(checkpoint_class_names(checkpoint)), class_index_(request.class_index) {
    if (class_index_ >= static_cast<int>(class_names_.size()))
      throw InputError(checkpoint, class_names_.empty() ? "an unconditional checkpoint draws no class"
                                                        : "has " + std::to_string(class_names_.size()) + " classes, not " +
                                                              std::to_string(class_index_ + 1));
  }

  Architecture architecture() const override { return Architecture::StyleGan2; }
  int size() const override { return generator_->config.size; }
  int channels() const override { return generator_->config.image_channels; }
  std::string kind() const override { return raw_ ? "StyleGAN2 checkpoint (raw generator)" : "StyleGAN2 checkpoint"; }
  std::string note() const override { return note_; }
  std::vector<std::string> class_names() const override { return class_names_; }
  torch::Tensor labels_of(int64_t first, int64_t count) const override {
    return drawing_labels(generator_->config, count, class_index_, torch::kCPU, first);
  }

  SampleResult write_samples(const std::string& out_dir, const SampleOptions& options) override;

  int w_plus_rows() const override { return static_cast<int>(generator_->config.n_latent()); }
  torch::Tensor map_to_w(const torch::Tensor& z) override { return generator_->map(z, labels(z.size(0))); }
  torch::Tensor synthesize_w_plus(const torch::Tensor& w_plus, const std::vector<torch::Tensor>& noise) override {
    SynthesisOptions options;
    options.input_is_latent = true;
    options.noise = noise;
    return generator_->forward(std::vector{w_plus}, options).image;
  }

 protected:
  torch::Device device() const override { return device_; }
  int style_dim() const override { return generator_->config.style_dim; }
  std::vector<int64_t> noise_sizes() const override {  // one map per layer
    std::vector<int64_t> sizes;
    for (int layer = 0; layer < generator_->config.num_layers(); ++layer) sizes.push_back(int64_t{1} << ((layer + 5) / 2));
    return sizes;
  }
  torch::Tensor mean_w(torch::Generator& rng) override { return mean_latent(generator_, rng, device_, class_index_); }
  torch::Tensor synthesize(const torch::Tensor& z, std::vector<torch::Tensor> noise, const torch::Tensor& mean_w,
                           double psi, const torch::Tensor& classes) override {
    SynthesisOptions options;
    options.noise = std::move(noise);
    options.labels = classes.defined() ? classes.to(device_) : labels(z.size(0));
    if (mean_w.defined()) {
      options.truncation_latent = mean_w;
      options.truncation = psi;
    }
    return generator_->forward(std::vector{z}, options).image;
  }

 private:
  std::vector<Image8> walk_frames(const torch::Tensor& latents, const torch::Tensor& mean_w, double psi,
                                  const std::vector<torch::Tensor>& noise);
  // The classes of n images: the asked one, or the classes in turn.
  torch::Tensor labels(int64_t n) const { return drawing_labels(generator_->config, n, class_index_, device_); }

  torch::Device device_;
  bool raw_;
  std::string note_;
  Generator generator_;
  std::vector<std::string> class_names_;
  int class_index_;
};

SampleResult StyleGan2Drawer::write_samples(const std::string& out_dir, const SampleOptions& options) {
  SampleResult result;
  result.note = note_;
  const Config& config = generator_->config;
  torch::NoGradGuard no_grad;
  torch::Generator rng = at::detail::createCPUGenerator(options.seed);
  const torch::Tensor mean_w = mean_latent(generator_, rng, device_, class_index_);
  const std::vector<torch::Tensor> noise = shared_noise(config, 1, rng, device_);
  auto z = [&](int n) { return torch::randn({n, config.style_dim}, rng).to(device_); };
  auto draw = [&](const std::vector<torch::Tensor>& styles, int inject) {
    SynthesisOptions o;
    o.truncation_latent = mean_w;
    o.truncation = options.truncation;
    o.inject_index = inject;
    o.noise = expanded(noise, styles[0].size(0));
    o.labels = labels(styles[0].size(0));
    return generator_->forward(styles, o).image;
  };

  const torch::Tensor sample_z = z(options.rows * options.cols);
  const Image8 samples = readable_grid(tensor_to_images(draw({sample_z}, -1)), options.cols);

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
  write_sample_grids(out_dir, samples, readable_grid(tensor_to_images(torch::stack(cells)), options.cols + 1), result);
  if (options.interpolate >= 2)
    write_interpolation(out_dir, walk_frames(z(options.interpolate), mean_w, options.truncation, noise), result);
  return result;
}

// Linear walks between consecutive W of K latents, and back to the first.
std::vector<Image8> StyleGan2Drawer::walk_frames(const torch::Tensor& latents, const torch::Tensor& mean_w, double psi,
                                                 const std::vector<torch::Tensor>& noise) {
  torch::NoGradGuard no_grad;
  const int k = static_cast<int>(latents.size(0)), frames_between = 12;
  torch::Tensor w = generator_->map(latents, labels(k));
  w = mean_w + psi * (w - mean_w);
  std::vector<Image8> frames;
  for (int i = 0; i < k; ++i)
    for (int f = 0; f < frames_between; ++f) {
      const double t = static_cast<double>(f) / frames_between;
      SynthesisOptions o;
      o.input_is_latent = true;
      o.noise = expanded(noise, 1);
      const torch::Tensor wt = ((1 - t) * w[i] + t * w[(i + 1) % k]).unsqueeze(0);
      frames.push_back(tensor_to_images(generator_->forward({wt}, o).image)[0]);
    }
  return frames;
}

}  // namespace

std::unique_ptr<CheckpointDrawer> open_for_drawing(const std::string& checkpoint, const DrawRequest& request) {
  return std::make_unique<StyleGan2Drawer>(checkpoint, request);
}

}  // namespace sg::stylegan2
