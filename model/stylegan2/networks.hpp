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
  // The discriminator's own width cap; 0: max_channels, as the reference.
  // A small generator learns faster against a wider critic (docs/demo.md).
  int d_max_channels = 0;
  int image_channels = 3;      // 1 for MRI, 3 for RGB
  int style_dim = 512;
  int n_mlp = 8;
  int channel_multiplier = 2;  // 2 (StyleGAN2 config-f) or 1
  double lr_mlp = 0.01;
  // Class-conditional (stylegan2-ada-pytorch's c_dim) with this many
  // classes; 0: unconditional, the reference's networks and keys exactly.
  int classes = 0;

  // The channels at a resolution: 512 up to 32x32, then 256, 128, 64, 32 and
  // 16 times channel_multiplier, capped at max_channels.
  int channels(int resolution) const;
  // The same rule under the discriminator's cap.
  int discriminator_channels(int resolution) const;
  int discriminator_cap() const { return d_max_channels > 0 ? d_max_channels : max_channels; }
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
  // Conditional generators: each image's class [B] (int64), for mapping z.
  torch::Tensor labels;
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
// Conditional (config.classes > 0), as stylegan2-ada-pytorch's mapping: the
// class one-hot embedded (embed, [style_dim, classes]), both it and z
// normalised, concatenated, then the MLP (style.0 takes 2 x style_dim).
struct GeneratorImpl : torch::nn::Module {
  explicit GeneratorImpl(const Config& config);
  GeneratorOutput forward(const std::vector<torch::Tensor>& styles, const SynthesisOptions& options = {});
  // w of z [B, style_dim]; `labels` [B] (int64) for a conditional generator
  // (std::invalid_argument when missing or out of range), ignored otherwise.
  torch::Tensor map(const torch::Tensor& z, const torch::Tensor& labels = {});
  // The mean w of n random latents (of class `label` when conditional; -1:
  // the classes in turn).
  torch::Tensor mean_latent(int64_t n, int64_t label = -1);
  // The styles each synthesis layer takes, from a latent [B, n_latent, D].
  torch::Tensor synthesis(const torch::Tensor& latent, const std::vector<torch::Tensor>& noise);

  Config config;
  torch::nn::Sequential style{nullptr};
  EqualLinear embed{nullptr};  // conditional only
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
// Conditional, as stylegan2-ada-pytorch's projection discriminator: the
// class mapped to cmap (label_mapping: embed, normalise, n_mlp layers) and
// the score the dot product of final_linear's cmap-wide output with it,
// over sqrt(cmap).
struct DiscriminatorImpl : torch::nn::Module {
  explicit DiscriminatorImpl(const Config& config);
  // `labels` [B] (int64) for a conditional discriminator, else ignored.
  torch::Tensor forward(const torch::Tensor& image, const torch::Tensor& labels = {});

  Config config;
  torch::nn::Sequential convs{nullptr}, final_linear{nullptr}, label_mapping{nullptr};
  ConvLayer final_conv{nullptr};
  int64_t stddev_group = 4;
  int64_t cmap_dim = 0;  // conditional only: channels(4)
};

// The one-hot rows of `labels` [B] for `classes` classes, as float on
// `like`'s device; std::invalid_argument for a missing or out-of-range label.
torch::Tensor one_hot_labels(const torch::Tensor& labels, int classes, const torch::Tensor& like);
TORCH_MODULE(Discriminator);

}  // namespace sg::stylegan2
