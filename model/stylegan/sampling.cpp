#include "model/stylegan/sampling.hpp"

#include <filesystem>

#include "common/errors.hpp"
#include "common/images/image_grid.hpp"
#include "model/core/ema.hpp"
#include "model/devices/device.hpp"

namespace sg::stylegan {

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

StyledGenerator load_sampling_generator(const std::string& checkpoint, const CheckpointMeta& meta, torch::Device device,
                                        bool raw) {
  StyledGenerator generator(meta.model);
  load_ema_generator(checkpoint, generator, raw);
  generator->to(device);
  generator->eval();
  // Drawn from, never trained: a projection's gradients stop at its inputs.
  set_requires_grad(*generator, false);
  return generator;
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
  return sg::generate_images(draw, n, batch, on_batch);
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

// A StyleGAN checkpoint's generator at one size: the plan (step, fade-in)
// and the meta it was read with.
class StyleGanDrawer : public CheckpointDrawer {
 public:
  StyleGanDrawer(const std::string& checkpoint, const DrawRequest& request)
      : checkpoint_(checkpoint), meta_(read_checkpoint_meta(checkpoint)),
        size_(request.size > 0 ? request.size : size_for_step(meta_.trained_step)),
        plan_(plan_drawing(checkpoint, meta_, size_)), device_(resolve_device(request.device)), raw_(request.raw),
        generator_(load_sampling_generator(checkpoint, meta_, device_, request.raw)) {
    if (request.class_index >= 0) throw InputError(checkpoint, "an unconditional checkpoint draws no class");
  }

  Architecture architecture() const override { return Architecture::StyleGan; }
  int size() const override { return size_; }
  int channels() const override { return meta_.model.image_channels; }
  std::string kind() const override { return raw_ ? "checkpoint (raw generator)" : "checkpoint"; }
  std::string note() const override { return meta_.note; }

  SampleResult write_samples(const std::string& out_dir, const SampleOptions& options) override {
    const int step = plan_.step;
    const double alpha = plan_.alpha;
    torch::Generator rng = at::detail::createCPUGenerator(options.seed);
    const torch::Tensor mean_w = mean_style(generator_, rng, device_);
    std::vector<torch::Tensor> noise;
    for (int i = 0; i <= step; ++i) noise.push_back(torch::randn({1, 1, 4 << i, 4 << i}, rng).to(device_));
    auto z = [&](int n) { return torch::randn({n, meta_.model.style_dim}, rng).to(device_); };

    SampleResult result;
    result.note = meta_.note;
    const torch::Tensor sample_z = z(options.rows * options.cols);
    const Image8 samples = readable_grid(
        tensor_to_images(generate(generator_, sample_z, step, alpha, mean_w, options.truncation, noise)), options.cols);
    auto cells = mixing_cells(generator_, z(options.cols), z(options.rows), step, alpha, mean_w, options.truncation, noise);
    write_sample_grids(out_dir, samples, readable_grid(tensor_to_images(torch::stack(cells)), options.cols + 1), result);
    if (options.interpolate >= 2) write_interpolation(out_dir, walk_frames(z(options.interpolate), mean_w, options, noise), result);
    return result;
  }

  int w_plus_rows() const override { return plan_.step + 1; }
  torch::Tensor map_to_w(const torch::Tensor& z) override { return generator_->style->forward(z); }
  torch::Tensor synthesize_w_plus(const torch::Tensor& w_plus, const std::vector<torch::Tensor>& noise) override {
    std::vector<torch::Tensor> block_styles;
    for (int block = 0; block <= plan_.step; ++block) block_styles.push_back(w_plus.select(1, block));
    return generator_->generator->forward_blocks(block_styles, noise, plan_.step, plan_.alpha);
  }

 protected:
  torch::Device device() const override { return device_; }
  int style_dim() const override { return meta_.model.style_dim; }
  std::vector<int64_t> noise_sizes() const override {  // one map per block
    std::vector<int64_t> sizes;
    for (int b = 0; b <= plan_.step; ++b) sizes.push_back(size_for_step(b));
    return sizes;
  }
  torch::Tensor mean_w(torch::Generator& rng) override { return mean_style(generator_, rng, device_); }
  torch::Tensor synthesize(const torch::Tensor& z, std::vector<torch::Tensor> noise, const torch::Tensor& mean_w,
                           double psi, const torch::Tensor&) override {  // unconditional: labels_of gives none
    GenerateOptions options;
    if (mean_w.defined()) {  // truncation; psi 1 draws without a mean style
      options.mean_style = mean_w;
      options.style_weight = psi;
    }
    options.noise = std::move(noise);
    return generator_->forward({z}, plan_.step, plan_.alpha, options);
  }

 private:
  // Linear walks between consecutive W of K latents, and back to the first.
  std::vector<Image8> walk_frames(const torch::Tensor& latents, const torch::Tensor& mean_w, const SampleOptions& options,
                                  const std::vector<torch::Tensor>& noise) {
    torch::NoGradGuard no_grad;
    const int k = static_cast<int>(latents.size(0)), frames_between = 12;
    auto w = generator_->style->forward(latents);
    w = mean_w + options.truncation * (w - mean_w);
    std::vector<Image8> frames;
    for (int i = 0; i < k; ++i)
      for (int f = 0; f < frames_between; ++f) {
        const double t = static_cast<double>(f) / frames_between;
        auto wt = (1 - t) * w[i] + t * w[(i + 1) % k];
        std::vector<torch::Tensor> noise_one(noise.begin(), noise.end());
        auto image = generator_->generator->forward({wt.unsqueeze(0)}, noise_one, plan_.step, plan_.alpha, -1, std::nullopt);
        frames.push_back(tensor_to_images(image)[0]);
      }
    return frames;
  }

  std::string checkpoint_;
  CheckpointMeta meta_;
  int size_;
  DrawPlan plan_;
  torch::Device device_;
  bool raw_;
  StyledGenerator generator_;
};

}  // namespace

std::unique_ptr<CheckpointDrawer> open_for_drawing(const std::string& checkpoint, const DrawRequest& request) {
  return std::make_unique<StyleGanDrawer>(checkpoint, request);
}

}  // namespace sg::stylegan
