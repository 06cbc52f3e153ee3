#include "model/stylegan/networks.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sg::stylegan {

namespace F = torch::nn::functional;

namespace {

// Block widths of the reference at width 512 (nf(stage) = min(8192/2^stage, 512)).
constexpr int kGeneratorChannels[9] = {512, 512, 512, 512, 256, 128, 64, 32, 16};
// Discriminator from_rgb widths, indexed from the 1024x1024 block down to 4x4.
constexpr int kDiscriminatorChannels[9] = {16, 32, 64, 128, 256, 512, 512, 512, 512};

torch::nn::LeakyReLU leaky() { return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)); }

}  // namespace

int StyleGanConfig::steps() const { return step_for_size(max_size); }

int StyleGanConfig::generator_channels(int block) const { return std::min(kGeneratorChannels[block], max_channels); }

StyledConvBlockImpl::StyledConvBlockImpl(int64_t in, int64_t out, int64_t style_dim, bool initial, bool upsample,
                                         bool fused) {
  if (initial) {
    constant = register_module("conv1", ConstantInput(in));
  } else if (upsample && fused) {
    conv1 = register_module("conv1", torch::nn::Sequential(FusedUpsample(in, out, 3, 1), Blur(out)));
  } else if (upsample) {
    upsample_conv = EqualConv2d(in, out, 3, 1);
    upsample_blur = Blur(out);
    conv1 = register_module(
        "conv1", torch::nn::Sequential(
                     torch::nn::Upsample(
                         torch::nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)),
                     upsample_conv, upsample_blur));
  } else {
    conv1 = register_module("conv1", torch::nn::Sequential(EqualConv2d(in, out, 3, 1)));
  }
  noise1 = register_module("noise1", NoiseInjection(out));
  adain1 = register_module("adain1", AdaptiveInstanceNorm(out, style_dim));
  conv2 = register_module("conv2", EqualConv2d(out, out, 3, 1));
  noise2 = register_module("noise2", NoiseInjection(out));
  adain2 = register_module("adain2", AdaptiveInstanceNorm(out, style_dim));
}

torch::Tensor StyledConvBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& style,
                                           const torch::Tensor& noise) {
  // The reference's order: conv, noise, lrelu, AdaIN, twice; one noise map
  // and one style for both layers of a block.
  torch::Tensor out;
  if (constant)
    out = constant->forward(x);
  else if (upsample_conv)
    out = upsample_blur->forward(upsample_conv->conv->forward_upsampled(x));
  else
    out = conv1->forward(x);
  out = adain1->forward(torch::leaky_relu(noise1->forward(out, noise), 0.2), style);
  out = conv2->forward(out);
  out = adain2->forward(torch::leaky_relu(noise2->forward(out, noise), 0.2), style);
  return out;
}

SynthesisImpl::SynthesisImpl(const StyleGanConfig& config) {
  progression = register_module("progression", torch::nn::ModuleList());
  to_rgb = register_module("to_rgb", torch::nn::ModuleList());
  for (int i = 0; i <= config.steps(); ++i) {
    const int out = config.generator_channels(i);
    const int in = i == 0 ? out : config.generator_channels(i - 1);
    // Fused upsampling from 128x128 up, as the official fused_scale='auto'.
    StyledConvBlock block(in, out, config.style_dim, i == 0, i > 0, size_for_step(i) >= 128);
    progression->push_back(block);
    blocks.push_back(block);
    EqualConv2d rgb(out, config.image_channels, 1);
    to_rgb->push_back(rgb);
    to_rgb_layers.push_back(rgb);
  }
}

torch::Tensor SynthesisImpl::forward(const std::vector<torch::Tensor>& styles, const std::vector<torch::Tensor>& noise,
                                     int step, double alpha, int crossover,
                                     std::optional<std::pair<int, int>> mixing_range) {
  if (step < 0 || step >= static_cast<int>(blocks.size()))
    throw std::invalid_argument("step " + std::to_string(step) + " outside 0.." + std::to_string(blocks.size() - 1));
  std::vector<torch::Tensor> block_styles;
  for (int i = 0; i <= step; ++i) {
    const torch::Tensor* style = &styles[0];
    if (styles.size() > 1) {
      if (mixing_range) {
        if (mixing_range->first <= i && i <= mixing_range->second) style = &styles[1];
      } else if (crossover >= 0 && i > crossover) {
        style = &styles[1];
      }
    }
    block_styles.push_back(*style);
  }
  return forward_blocks(block_styles, noise, step, alpha);
}

torch::Tensor SynthesisImpl::forward_blocks(const std::vector<torch::Tensor>& block_styles,
                                            const std::vector<torch::Tensor>& noise, int step, double alpha) {
  if (step < 0 || step >= static_cast<int>(blocks.size()))
    throw std::invalid_argument("step " + std::to_string(step) + " outside 0.." + std::to_string(blocks.size() - 1));
  if (static_cast<int>(block_styles.size()) != step + 1 || static_cast<int>(noise.size()) < step + 1)
    throw std::invalid_argument("a style and a noise map per block expected (" + std::to_string(step + 1) + ")");
  torch::Tensor out = noise[0];  // the constant input only takes the batch size from it
  torch::Tensor previous;
  for (int i = 0; i <= step; ++i) {
    if (i > 0) previous = out;
    out = blocks[i]->forward(out, block_styles[i], noise[i]);
  }
  torch::Tensor image = to_rgb_layers[step]->forward(out);
  if (step > 0 && alpha >= 0 && alpha < 1) {
    auto skip = F::interpolate(to_rgb_layers[step - 1]->forward(previous),
                               F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
    image = (1 - alpha) * skip + alpha * image;
  }
  return image;  // linear output, no tanh, as the reference
}

StyledGeneratorImpl::StyledGeneratorImpl(const StyleGanConfig& config_) : config(config_) {
  generator = register_module("generator", Synthesis(config));
  style = torch::nn::Sequential();
  style->push_back(PixelNorm());
  for (int i = 0; i < config.n_mlp; ++i) {
    style->push_back(EqualLinear(config.style_dim, config.style_dim));
    style->push_back(leaky());
  }
  style = register_module("style", style);
}

torch::Tensor StyledGeneratorImpl::forward(const std::vector<torch::Tensor>& z, int step, double alpha,
                                           const GenerateOptions& options) {
  // All latents through the mapping network as one batch (a mixing step's
  // two would otherwise issue its 17 operators, and their gradients, twice).
  auto w = style->forward(z.size() == 1 ? z[0] : torch::cat(z));
  if (options.mean_style) w = *options.mean_style + options.style_weight * (w - *options.mean_style);
  std::vector<int64_t> batches;
  for (const auto& code : z) batches.push_back(code.size(0));
  std::vector<torch::Tensor> styles = z.size() == 1 ? std::vector<torch::Tensor>{w} : w.split_with_sizes(batches);
  std::vector<torch::Tensor> noise = options.noise;
  if (noise.empty()) {
    const int64_t batch = z[0].size(0);
    for (int i = 0; i <= step; ++i)
      noise.push_back(torch::randn({batch, 1, size_for_step(i), size_for_step(i)}, z[0].options()));
  }
  return generator->forward(styles, noise, step, alpha, options.crossover, options.mixing_range);
}

torch::Tensor StyledGeneratorImpl::mean_style(const torch::Tensor& z) { return style->forward(z).mean(0, true); }

ConvBlockImpl::ConvBlockImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding, int64_t kernel2,
                             int64_t padding2, bool downsample, bool fused) {
  conv1 = register_module("conv1", torch::nn::Sequential(EqualConv2d(in, out, kernel, padding), leaky()));
  if (downsample && fused) {
    conv2 = torch::nn::Sequential(Blur(out), FusedDownsample(out, out, kernel2, padding2), leaky());
  } else if (downsample) {
    pool_blur = Blur(out);
    pool_conv = EqualConv2d(out, out, kernel2, padding2);
    conv2 = torch::nn::Sequential(pool_blur, pool_conv, torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(2)), leaky());
  } else {
    conv2 = torch::nn::Sequential(EqualConv2d(out, out, kernel2, padding2), leaky());
  }
  conv2 = register_module("conv2", conv2);
}

torch::Tensor ConvBlockImpl::forward(const torch::Tensor& x) {
  auto out = conv1->forward(x);
  if (pool_conv) return torch::leaky_relu(pool_conv->conv->forward_pooled(pool_blur->forward(out)), 0.2);
  return conv2->forward(out);
}

DiscriminatorImpl::DiscriminatorImpl(const StyleGanConfig& config_) : config(config_) {
  progression = register_module("progression", std::make_shared<torch::nn::Module>());
  from_rgb = register_module("from_rgb", std::make_shared<torch::nn::Module>());
  n_layer = config.steps() + 1;
  const int first = 9 - n_layer;  // reference index of our first (largest) block
  auto width = [&](int r) { return std::min(kDiscriminatorChannels[r], config.max_channels); };
  for (int j = 0; j < n_layer; ++j) {
    const int r = first + j;
    ConvBlock block = r < 8 ? ConvBlock(width(r), width(r + 1), 3, 1, 3, 1, /*downsample=*/true, /*fused=*/r <= 3)
                            : ConvBlock(width(8) + 1, width(8), 3, 1, 4, 0, false, false);
    progression->register_module(std::to_string(r), block);
    blocks.push_back(block);
    torch::nn::Sequential rgb;
    rgb->push_back(EqualConv2d(config.image_channels, width(r), 1));
    if (config.from_rgb_activate) rgb->push_back(leaky());
    from_rgb->register_module(std::to_string(r), rgb);
    from_rgb_layers.push_back(rgb);
  }
  linear = register_module("linear", EqualLinear(width(8), 1));
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& input, int step, double alpha) {
  if (step < 0 || step >= n_layer)
    throw std::invalid_argument("step " + std::to_string(step) + " outside 0.." + std::to_string(n_layer - 1));
  torch::Tensor out;
  for (int i = step; i >= 0; --i) {
    const int index = n_layer - i - 1;
    if (i == step) out = from_rgb_layers[index]->forward(input);
    if (i == 0) out = minibatch_stddev(out);
    out = blocks[index]->forward(out);
    if (i > 0 && i == step && alpha >= 0 && alpha < 1) {
      auto skip = from_rgb_layers[index + 1]->forward(F::avg_pool2d(input, F::AvgPool2dFuncOptions(2)));
      out = (1 - alpha) * skip + alpha * out;
    }
  }
  return linear->forward(out.squeeze(3).squeeze(2));
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace sg::stylegan
