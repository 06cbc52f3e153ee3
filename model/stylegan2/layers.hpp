#pragma once
// The building blocks of StyleGAN2 (Karras et al. 2020) as rosinality's
// stylegan2-pytorch has them (its model.py), registered under the same names
// and in the same order so that state dicts line up with its `g_ema` and `d`.
// Unlike StyleGAN's layers (model/stylegan/layers.hpp) the weights are plain
// `weight` parameters scaled by 1/sqrt(fan_in) at run time (no `weight_orig`),
// and biases go through a fused leaky ReLU scaled by sqrt(2).
#include <torch/torch.h>

#include <array>

namespace sg::stylegan2 {

// upfirdn2d: zero-insert `up`, pad (pad0 before, pad1 after, both axes),
// correlate every channel with the flipped 2-D kernel, keep every `down`-th
// pixel. Pads are non-negative (all the networks need).
torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& kernel, int64_t up, int64_t down, int64_t pad0,
                        int64_t pad1);

// conv_transpose2d(x, weight.transpose(0, 1), stride 2) for a 3x3 `weight`
// [out, in, 3, 3], output 2H+1 x 2W+1, as four ordinary convolutions over the
// output's pixel phases (2x2, 2x1, 1x2 and 1x1 taps of the kernel): the same
// multiplications, but LibTorch 1.13 runs a transposed convolution on a CPU
// through its slow reference kernel and these through oneDNN.
torch::Tensor stride_two_transposed_conv3x3(const torch::Tensor& x, const torch::Tensor& weight);

// The normalised outer product of a 1-D kernel ([1, 3, 3, 1]: the binomial
// blur), times `gain`.
torch::Tensor make_blur_kernel(const std::array<float, 4>& taps = {1, 3, 3, 1}, double gain = 1.0);

// FIR filter at the same rate; buffer `kernel` [4, 4].
struct BlurImpl : torch::nn::Module {
  BlurImpl(int64_t pad0, int64_t pad1, int64_t upsample_factor = 1);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor kernel;
  int64_t pad0, pad1;
};
TORCH_MODULE(Blur);

// 2x upsampling by zero insertion and the blur (gain 4); buffer `kernel`.
struct UpsampleImpl : torch::nn::Module {
  UpsampleImpl();
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor kernel;
};
TORCH_MODULE(Upsample);

// leaky_relu(x + bias, 0.2) * sqrt(2); `bias` [C] when has_bias.
struct FusedLeakyReLUImpl : torch::nn::Module {
  explicit FusedLeakyReLUImpl(int64_t channels, bool has_bias = true);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor bias;
};
TORCH_MODULE(FusedLeakyReLU);

torch::Tensor fused_leaky_relu(const torch::Tensor& x, const torch::Tensor& bias);

// `weight` [out, in, k, k] ~ N(0, 1) scaled by 1/sqrt(in k^2), `bias` optional.
struct EqualConv2dImpl : torch::nn::Module {
  EqualConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool has_bias);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  int64_t stride, padding;
  double scale;
};
TORCH_MODULE(EqualConv2d);

// `weight` [out, in] ~ N(0, 1) / lr_mul scaled by lr_mul / sqrt(in); `bias`
// (bias_init) scaled by lr_mul; with `activate`, the fused leaky ReLU.
struct EqualLinearImpl : torch::nn::Module {
  EqualLinearImpl(int64_t in, int64_t out, double bias_init = 0.0, double lr_mul = 1.0, bool activate = false);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  double scale, lr_mul;
  bool activate;
};
TORCH_MODULE(EqualLinear);

// x / sqrt(mean over dim 1 of x^2 + 1e-8): PixelNorm's function, also the
// conditional mapping's normalisation of z and the class embedding.
torch::Tensor pixel_norm(const torch::Tensor& x);

struct PixelNormImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(PixelNorm);

// Weight modulation by a per-sample style (and demodulation: unit L2 norm
// per output channel), optionally upsampling (transposed convolution, stride
// 2, then the blur) or downsampling. `weight` [1, out, in, k, k], then
// `blur`, then `modulation` (EqualLinear style_dim -> in, bias 1).
//
// Computed by scaling the activations instead of the weights: conv(x * s,
// W) * d equals the grouped convolution with W * s * d per sample (the
// reference's fused form) and is one ordinary convolution for the whole
// batch, several times faster on a CPU. The tests hold the two equal, to
// second order.
struct ModulatedConv2dImpl : torch::nn::Module {
  ModulatedConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t style_dim, bool demodulate = true,
                      bool upsample = false, bool downsample = false);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& style);
  // The reference's fused formula, the test's oracle: the weight modulated
  // per sample and a grouped convolution.
  torch::Tensor forward_grouped(const torch::Tensor& x, const torch::Tensor& style);

  Blur blur{nullptr};
  torch::Tensor weight;
  EqualLinear modulation{nullptr};
  int64_t in_channels, out_channels, kernel_size, padding;
  double scale;
  bool demodulate, upsample, downsample;
};
TORCH_MODULE(ModulatedConv2d);

// image + weight * noise, `weight` [1] starting at 0; an undefined noise:
// fresh N(0, 1) of shape [B, 1, H, W].
struct NoiseInjectionImpl : torch::nn::Module {
  NoiseInjectionImpl();
  torch::Tensor forward(const torch::Tensor& image, const torch::Tensor& noise);
  torch::Tensor weight;
};
TORCH_MODULE(NoiseInjection);

// `input` [1, C, size, size], repeated over the batch.
struct ConstantInputImpl : torch::nn::Module {
  explicit ConstantInputImpl(int64_t channels, int64_t size = 4);
  torch::Tensor forward(int64_t batch);
  torch::Tensor input;
};
TORCH_MODULE(ConstantInput);

// conv (modulated, demodulated), noise, activate.
struct StyledConvImpl : torch::nn::Module {
  StyledConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t style_dim, bool upsample);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& style, const torch::Tensor& noise);
  ModulatedConv2d conv{nullptr};
  NoiseInjection noise{nullptr};
  FusedLeakyReLU activate{nullptr};
};
TORCH_MODULE(StyledConv);

// A 1x1 modulated convolution (no demodulation) to image channels plus
// `bias` [1, C, 1, 1], added to the upsampled skip image.
struct ToRGBImpl : torch::nn::Module {
  ToRGBImpl(int64_t in, int64_t image_channels, int64_t style_dim, bool upsample);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& style, const torch::Tensor& skip);
  torch::Tensor bias;
  Upsample upsample{nullptr};
  ModulatedConv2d conv{nullptr};
};
TORCH_MODULE(ToRGB);

// ConvLayer: [blur when downsampling], EqualConv2d (bias only without
// activation), [FusedLeakyReLU(bias)], children named 0, 1, 2 as the
// reference's nn.Sequential subclass names them.
struct ConvLayerImpl : torch::nn::Module {
  ConvLayerImpl(int64_t in, int64_t out, int64_t kernel, bool downsample, bool bias = true, bool activate = true);
  torch::Tensor forward(const torch::Tensor& x);
  Blur blur{nullptr};
  EqualConv2d conv{nullptr};
  FusedLeakyReLU activation{nullptr};
};
TORCH_MODULE(ConvLayer);

// Two 3x3 convolutions (the second downsampling) plus a 1x1 downsampling
// skip, summed and divided by sqrt(2).
struct ResBlockImpl : torch::nn::Module {
  ResBlockImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  ConvLayer conv1{nullptr}, conv2{nullptr}, skip{nullptr};
};
TORCH_MODULE(ResBlock);

// The standard deviation over groups of `group_size` samples (the batch
// when smaller), averaged into one feature per group, appended as a channel.
// The batch must divide into groups (as in the reference).
torch::Tensor grouped_minibatch_stddev(const torch::Tensor& x, int64_t group_size);

}  // namespace sg::stylegan2
