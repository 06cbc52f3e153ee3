#pragma once
// StyleGAN2's generator and residual discriminator as rosinality's
// stylegan2-pytorch builds them (model.py: Generator, Discriminator), at a
// fixed resolution, with our width cap and image-channel count.
#include <torch/torch.h>

#include "model/devices/precision.hpp"

#include <optional>
#include <vector>

#include "model/stylegan/networks.hpp"
#include "model/stylegan2/layers.hpp"

namespace sg::stylegan2 {

struct Config {
  int size = 256;              // output resolution, a power of two, 8..1024
  int max_channels = 512;      // width cap of every layer (the reference: 512)
  int image_channels = 3;      // 1 for MRI, 3 for RGB
  int style_dim = 512;
  int n_mlp = 8;
  int channel_multiplier = 2;  // 2 (StyleGAN2 config-f) or 1
  double lr_mlp = 0.01;

  // The channels at a resolution: 512 up to 32x32, then 256, 128, 64, 32 and
  // 16 times channel_multiplier, capped at max_channels.
  int channels(int resolution) const;
  int log_size() const;
  int num_layers() const;  // styled convolutions, one noise map each
  int n_latent() const;    // W+ entries: styles the synthesis consumes
  // Throws std::invalid_argument naming what is wrong.
  void validate() const;
};

// StyleGAN2 at `size` with what both architectures' configurations share
// (widths, style size, mapping depth, image channels) taken from StyleGAN's.
Config config_from(const stylegan::StyleGanConfig& shared, int size, int channel_multiplier);

struct SynthesisOptions {
  // Truncation towards truncation_latent (psi < 1).
  std::optional<torch::Tensor> truncation_latent;
  double truncation = 1.0;
  // With two styles: entries [0, inject_index) from the first, the rest from
  // the second (the reference draws it from 1 .. n_latent - 1).
  int inject_index = -1;
  bool input_is_latent = false;  // styles are w, not z
  std::vector<torch::Tensor> noise;  // per layer; empty: fresh noise
  // bf16: the synthesis network under bf16 autocast (the mapping network and
  // the W+ latent stay fp32; the image comes back as fp32).
  Precision precision = Precision::Fp32;
};

struct GeneratorOutput {
  torch::Tensor image;
  torch::Tensor latent;  // [B, n_latent, style_dim], in the graph (path-length regularisation)
};

// Keys: style.1..n_mlp, input, conv1, to_rgb1, convs.*, to_rgbs.*, noises.noise_*.
struct GeneratorImpl : torch::nn::Module {
  explicit GeneratorImpl(const Config& config);
  GeneratorOutput forward(const std::vector<torch::Tensor>& styles, const SynthesisOptions& options = {});
  // The mean w of n random latents.
  torch::Tensor mean_latent(int64_t n);
  // The styles each synthesis layer takes, from a latent [B, n_latent, D].
  torch::Tensor synthesis(const torch::Tensor& latent, const std::vector<torch::Tensor>& noise);

  Config config;
  torch::nn::Sequential style{nullptr};
  ConstantInput input{nullptr};
  StyledConv conv1{nullptr};
  ToRGB to_rgb1{nullptr};
  torch::nn::ModuleList convs{nullptr}, to_rgbs{nullptr};
  std::shared_ptr<torch::nn::Module> noises;  // buffers noise_0.. (the reference's fixed noise)
  std::vector<StyledConv> conv_layers;
  std::vector<ToRGB> to_rgb_layers;
};
TORCH_MODULE(Generator);

// Keys: convs.0 (1x1 from image channels), convs.1.. (ResBlocks down to
// 4x4), final_conv (after the minibatch stddev), final_linear.0/1.
struct DiscriminatorImpl : torch::nn::Module {
  explicit DiscriminatorImpl(const Config& config);
  torch::Tensor forward(const torch::Tensor& image);

  Config config;
  torch::nn::Sequential convs{nullptr}, final_linear{nullptr};
  ConvLayer final_conv{nullptr};
  int64_t stddev_group = 4;
};
TORCH_MODULE(Discriminator);

}  // namespace sg::stylegan2
