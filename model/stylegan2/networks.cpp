#include "model/stylegan2/networks.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace sg::stylegan2 {

Config config_from(const stylegan::StyleGanConfig& shared, int size, int channel_multiplier) {
  Config c;
  c.size = size;
  c.max_channels = shared.max_channels;
  c.image_channels = shared.image_channels;
  c.style_dim = shared.style_dim;
  c.n_mlp = shared.n_mlp;
  c.channel_multiplier = channel_multiplier;
  return c;
}

namespace {

// 512 up to 32x32, then halving from 256 * multiplier at 64x64.
int uncapped_channels(int resolution, int channel_multiplier) {
  if (resolution >= 64) return (256 * channel_multiplier) / (resolution / 64);
  return 512;
}

}  // namespace

int Config::channels(int resolution) const {
  return std::min(uncapped_channels(resolution, channel_multiplier), max_channels);
}

int Config::discriminator_channels(int resolution) const {
  return std::min(uncapped_channels(resolution, channel_multiplier), discriminator_cap());
}

int Config::log_size() const {
  int log = 0;
  while ((1 << log) < size) ++log;
  return log;
}

int Config::num_layers() const { return (log_size() - 2) * 2 + 1; }
int Config::n_latent() const { return log_size() * 2 - 2; }

void Config::validate() const {
  if (size < 8 || size > 1024 || (size & (size - 1)) != 0)
    throw std::invalid_argument("StyleGAN2 size " + std::to_string(size) + " is not a power of two from 8 to 1024");
  if (channel_multiplier != 1 && channel_multiplier != 2)
    throw std::invalid_argument("channel multiplier " + std::to_string(channel_multiplier) + " is not 1 or 2");
  if (max_channels < 1 || d_max_channels < 0 || image_channels < 1 || style_dim < 1 || n_mlp < 1)
    throw std::invalid_argument("StyleGAN2 widths, image channels, style size and mapping layers must be positive");
  if (classes < 0 || classes == 1 || classes > 65536)
    throw std::invalid_argument("a conditional StyleGAN2 needs 2 to 65536 classes, not " + std::to_string(classes));
}

torch::Tensor one_hot_labels(const torch::Tensor& labels, int classes, const torch::Tensor& like) {
  if (!labels.defined()) throw std::invalid_argument("a conditional network needs each image's class");
  if (labels.dim() != 1) throw std::invalid_argument("class labels must be one per image");
  if (labels.numel() > 0) {
    const int64_t low = labels.min().item<int64_t>(), high = labels.max().item<int64_t>();
    if (low < 0 || high >= classes)
      throw std::invalid_argument("class label " + std::to_string(low < 0 ? low : high) + " is not in 0.." +
                                  std::to_string(classes - 1));
  }
  return torch::one_hot(labels.to(like.device(), torch::kLong), classes).to(like.options());
}

GeneratorImpl::GeneratorImpl(const Config& config_) : config(config_) {
  config.validate();
  const bool conditional = config.classes > 0;
  // Conditional: z and the class embedding are normalised apart in map().
  style = conditional ? torch::nn::Sequential() : torch::nn::Sequential(PixelNorm());
  for (int i = 0; i < config.n_mlp; ++i)
    style->push_back(EqualLinear(conditional && i == 0 ? 2 * config.style_dim : config.style_dim, config.style_dim,
                                 0.0, config.lr_mlp, /*activate=*/true));
  register_module("style", style);
  if (conditional) embed = register_module("embed", EqualLinear(config.classes, config.style_dim));

  const int c4 = config.channels(4);
  input = register_module("input", ConstantInput(c4));
  conv1 = register_module("conv1", StyledConv(c4, c4, 3, config.style_dim, false));
  to_rgb1 = register_module("to_rgb1", ToRGB(c4, config.image_channels, config.style_dim, false));

  convs = register_module("convs", torch::nn::ModuleList());
  register_module("upsamples", torch::nn::ModuleList());  // empty in the reference too
  to_rgbs = register_module("to_rgbs", torch::nn::ModuleList());
  noises = register_module("noises", std::make_shared<torch::nn::Module>("Module"));
  for (int layer = 0; layer < config.num_layers(); ++layer) {
    const int64_t res = int64_t{1} << ((layer + 5) / 2);
    noises->register_buffer("noise_" + std::to_string(layer), torch::randn({1, 1, res, res}));
  }
  int in = c4;
  for (int log = 3; log <= config.log_size(); ++log) {
    const int out = config.channels(1 << log);
    conv_layers.push_back(StyledConv(in, out, 3, config.style_dim, /*upsample=*/true));
    conv_layers.push_back(StyledConv(out, out, 3, config.style_dim, false));
    convs->push_back(conv_layers[conv_layers.size() - 2]);
    convs->push_back(conv_layers.back());
    to_rgb_layers.push_back(ToRGB(out, config.image_channels, config.style_dim, true));
    to_rgbs->push_back(to_rgb_layers.back());
    in = out;
  }
}

torch::Tensor GeneratorImpl::synthesis(const torch::Tensor& latent, const std::vector<torch::Tensor>& noise) {
  auto noise_at = [&](size_t i) { return i < noise.size() ? noise[i] : torch::Tensor(); };
  torch::Tensor out = input->forward(latent.size(0));
  out = conv1->forward(out, latent.select(1, 0), noise_at(0));
  torch::Tensor skip = to_rgb1->forward(out, latent.select(1, 1), {});
  int64_t i = 1;
  for (size_t b = 0; b < to_rgb_layers.size(); ++b) {
    out = conv_layers[2 * b]->forward(out, latent.select(1, i), noise_at(2 * b + 1));
    out = conv_layers[2 * b + 1]->forward(out, latent.select(1, i + 1), noise_at(2 * b + 2));
    skip = to_rgb_layers[b]->forward(out, latent.select(1, i + 2), skip);
    i += 2;
  }
  return skip;
}

GeneratorOutput GeneratorImpl::forward(const std::vector<torch::Tensor>& styles_in, const SynthesisOptions& options) {
  if (styles_in.empty() || styles_in.size() > 2) throw std::invalid_argument("the generator takes one or two styles");
  std::vector<torch::Tensor> styles;
  for (const auto& s : styles_in) styles.push_back(options.input_is_latent ? s : map(s, options.labels));
  if (options.truncation < 1.0 && options.truncation_latent)
    for (auto& s : styles) s = *options.truncation_latent + options.truncation * (s - *options.truncation_latent);

  const int64_t n_latent = config.n_latent();
  torch::Tensor latent;
  if (styles.size() == 1) {
    latent = styles[0].dim() < 3 ? styles[0].unsqueeze(1).repeat({1, n_latent, 1}) : styles[0];
  } else {
    const int64_t inject = options.inject_index;
    if (inject < 1 || inject >= n_latent)
      throw std::invalid_argument("style mixing needs an inject index from 1 to " + std::to_string(n_latent - 1));
    latent = torch::cat({styles[0].unsqueeze(1).repeat({1, inject, 1}),
                         styles[1].unsqueeze(1).repeat({1, n_latent - inject, 1})},
                        1);
  }
  torch::Tensor image;
  {
    AutocastScope autocast(latent.device(), options.precision);
    image = synthesis(latent, options.noise);
  }
  return {full_precision(image), latent};
}

torch::Tensor GeneratorImpl::map(const torch::Tensor& z, const torch::Tensor& labels) {
  if (config.classes == 0) return style->forward(z);
  const torch::Tensor c = one_hot_labels(labels, config.classes, z);
  if (c.size(0) != z.size(0)) throw std::invalid_argument("one class label per latent");
  return style->forward(torch::cat({pixel_norm(z), pixel_norm(embed->forward(c))}, 1));
}

torch::Tensor GeneratorImpl::mean_latent(int64_t n, int64_t label) {
  const torch::Tensor z = torch::randn({n, config.style_dim}, input->input.options());
  torch::Tensor labels;
  if (config.classes > 0)
    labels = label >= 0 ? torch::full({n}, label, torch::kLong) : torch::arange(n, torch::kLong) % config.classes;
  return map(z, labels).mean(0, /*keepdim=*/true);
}

DiscriminatorImpl::DiscriminatorImpl(const Config& config_) : config(config_) {
  config.validate();
  convs = torch::nn::Sequential(ConvLayer(config.image_channels, config.discriminator_channels(config.size), 1, false));
  int in = config.discriminator_channels(config.size);
  for (int log = config.log_size(); log > 2; --log) {
    const int out = config.discriminator_channels(1 << (log - 1));
    convs->push_back(ResBlock(in, out));
    in = out;
  }
  register_module("convs", convs);
  const int c4 = config.discriminator_channels(4);
  final_conv = register_module("final_conv", ConvLayer(in + 1, c4, 3, false));
  cmap_dim = config.classes > 0 ? c4 : 0;
  final_linear = register_module("final_linear",
                                 torch::nn::Sequential(EqualLinear(c4 * 16, c4, 0.0, 1.0, /*activate=*/true),
                                                       EqualLinear(c4, config.classes > 0 ? cmap_dim : 1)));
  if (config.classes > 0) {
    label_mapping = torch::nn::Sequential(EqualLinear(config.classes, cmap_dim), PixelNorm());
    for (int i = 0; i < config.n_mlp; ++i)
      label_mapping->push_back(EqualLinear(cmap_dim, cmap_dim, 0.0, config.lr_mlp, /*activate=*/true));
    register_module("label_mapping", label_mapping);
  }
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& image, const torch::Tensor& labels) {
  torch::Tensor out = convs->forward(image);
  out = grouped_minibatch_stddev(out, stddev_group);
  out = final_conv->forward(out);
  out = final_linear->forward(out.reshape({out.size(0), -1}));
  if (config.classes == 0) return out;
  const torch::Tensor c = one_hot_labels(labels, config.classes, full_precision(out));
  if (c.size(0) != out.size(0)) throw std::invalid_argument("one class label per image");
  const torch::Tensor cmap = label_mapping->forward(c).to(out.scalar_type());
  return (out * cmap).sum(1, /*keepdim=*/true) * (1.0 / std::sqrt(static_cast<double>(cmap_dim)));
}

}  // namespace sg::stylegan2
