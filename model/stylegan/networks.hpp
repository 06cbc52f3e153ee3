#pragma once
// StyleGAN generator (mapping + progressive synthesis) and the progressive
// discriminator, as rosinality's StyledGenerator / Discriminator, with a
// width cap, an image-channel count and a maximum size for small models.
#include <torch/torch.h>

#include <optional>
#include <utility>
#include <vector>

#include "model/core/schedule.hpp"
#include "model/stylegan/layers.hpp"

namespace sg::stylegan {

struct StyleGanConfig {
  int max_size = 1024;        // largest resolution built (4..1024, power of two)
  int max_channels = 512;     // width cap of every block
  int image_channels = 3;     // 1 for MRI, 3 for RGB
  int style_dim = 512;        // z and w size
  int n_mlp = 8;              // mapping layers
  bool from_rgb_activate = true;

  int steps() const;  // blocks - 1: step s draws 4 * 2^s pixels
  // The channels of generator block i (0 = 4x4), capped.
  int generator_channels(int block) const;
};

struct StyledConvBlockImpl : torch::nn::Module {
  StyledConvBlockImpl(int64_t in, int64_t out, int64_t style_dim, bool initial, bool upsample, bool fused);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& style, const torch::Tensor& noise);

  ConstantInput constant{nullptr};      // conv1 of the initial block
  torch::nn::Sequential conv1{nullptr};  // conv1 of the others
  // conv1's convolution and blur when it upsamples by nearest neighbour
  // (below 128x128): run as EqualConvParams::forward_upsampled.
  EqualConv2d upsample_conv{nullptr};
  Blur upsample_blur{nullptr};
  NoiseInjection noise1{nullptr}, noise2{nullptr};
  AdaptiveInstanceNorm adain1{nullptr}, adain2{nullptr};
  EqualConv2d conv2{nullptr};
};
TORCH_MODULE(StyledConvBlock);

// The synthesis network: progression.{i} and to_rgb.{i}.
struct SynthesisImpl : torch::nn::Module {
  explicit SynthesisImpl(const StyleGanConfig& config);
  // styles: one or two w per sample batch. Blocks <= crossover use styles[0]
  // and the rest styles[1] (crossover < 0: styles[0] throughout), unless
  // mixing_range (a, b) is given: then blocks in [a, b] use styles[1].
  torch::Tensor forward(const std::vector<torch::Tensor>& styles, const std::vector<torch::Tensor>& noise, int step,
                        double alpha, int crossover, std::optional<std::pair<int, int>> mixing_range);
  // One style per block 0..step (W+), e.g. a projected latent.
  torch::Tensor forward_blocks(const std::vector<torch::Tensor>& block_styles, const std::vector<torch::Tensor>& noise,
                               int step, double alpha);

  torch::nn::ModuleList progression, to_rgb;
  std::vector<StyledConvBlock> blocks;
  std::vector<EqualConv2d> to_rgb_layers;
};
TORCH_MODULE(Synthesis);

struct GenerateOptions {
  std::optional<torch::Tensor> mean_style;  // truncation centre
  double style_weight = 0.0;                // truncation psi (with mean_style)
  int crossover = -1;                       // style mixing, see Synthesis
  std::optional<std::pair<int, int>> mixing_range;
  std::vector<torch::Tensor> noise;         // per block; fresh N(0,1) when empty
};

// StyledGenerator: `generator` (synthesis) and `style` (mapping network:
// PixelNorm then n_mlp x [EqualLinear, LeakyReLU(0.2)]).
struct StyledGeneratorImpl : torch::nn::Module {
  explicit StyledGeneratorImpl(const StyleGanConfig& config);
  // alpha in [0, 1) fades the new top block in; alpha >= 1 or < 0: no fade.
  torch::Tensor forward(const std::vector<torch::Tensor>& z, int step, double alpha,
                        const GenerateOptions& options = {});
  torch::Tensor forward(const torch::Tensor& z, int step, double alpha = 1.0) { return forward(std::vector{z}, step, alpha); }
  torch::Tensor mean_style(const torch::Tensor& z);

  StyleGanConfig config;
  Synthesis generator{nullptr};
  torch::nn::Sequential style{nullptr};
};
TORCH_MODULE(StyledGenerator);

struct ConvBlockImpl : torch::nn::Module {
  ConvBlockImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding, int64_t kernel2, int64_t padding2,
                bool downsample, bool fused);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential conv1{nullptr}, conv2{nullptr};
  // conv2's blur and convolution when it average-pools (below 128x128): run
  // as EqualConvParams::forward_pooled.
  Blur pool_blur{nullptr};
  EqualConv2d pool_conv{nullptr};
};
TORCH_MODULE(ConvBlock);

// The discriminator: progression.{i} (input resolution from high to low),
// from_rgb.{i}, minibatch stddev before the last block, linear. Blocks are
// numbered as the reference's full discriminator numbers them (0: the
// 1024x1024 input, 8: 4x4) whatever max_size, so that a smaller model's
// state-dict names are the reference's.
struct DiscriminatorImpl : torch::nn::Module {
  explicit DiscriminatorImpl(const StyleGanConfig& config);
  torch::Tensor forward(const torch::Tensor& input, int step, double alpha = 1.0);

  StyleGanConfig config;
  std::shared_ptr<torch::nn::Module> progression, from_rgb;  // children named by reference index
  std::vector<ConvBlock> blocks;
  std::vector<torch::nn::Sequential> from_rgb_layers;
  EqualLinear linear{nullptr};
  int n_layer = 0;
};
TORCH_MODULE(Discriminator);

// Parameters of a module (trainable, not buffers).
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace sg::stylegan
