#pragma once
// The building blocks of StyleGAN (Karras et al. 2019) as rosinality's
// style-based-gan-pytorch has them, registered under the same names so that
// state dicts line up (REFERENCE.md §3.5): equalised learning rate keeps
// weights N(0,1) in `weight_orig` and scales them by He's constant at run
// time; `bias` is registered before `weight_orig`, as equal_lr leaves it.
#include <torch/torch.h>

namespace sg::stylegan {

// He's constant for a weight of this shape: sqrt(2 / fan_in), fan_in =
// size(1) * prod(size[2:]) (a noise weight [1, C, 1, 1] gives sqrt(2 / C)).
double equal_lr_scale(const torch::Tensor& weight);

// How the convolutions are computed: the same functions either way (the
// tests check both sides), at speeds that depend on the device. Process-wide.
struct ConvolutionSettings {
  // stride_one_conv2d through its own autograd Function, whose double
  // backward is native convolutions; off: LibTorch's conv2d (whose double
  // backward on a CPU runs slow batch-transposed weight convolutions).
  bool own_double_backward = true;
  // On CUDA, images smaller than this take LibTorch's conv2d even so: its
  // cuDNN double backward was the faster one at 16x16 (whole iterations on
  // an H100: +20% at 16x16, +3% at 32x32; ours +35% at 64x64, +37% at 256x256).
  int64_t cuda_own_double_backward_minimum_size = 64;
  // forward_upsampled / forward_pooled as 2x2 phase convolutions from this
  // output (upsampled) or input (pooled) size on; below, the composition.
  int64_t phase_split_minimum_size = 16;
};
void set_convolution_settings(const ConvolutionSettings& settings);
const ConvolutionSettings& convolution_settings();

// conv2d(x, weight, bias), stride 1 (an undefined bias: none); under
// autocast in its dtype. Its gradient, when differentiated again, runs as
// native convolutions (see layers.cpp).
torch::Tensor stride_one_conv2d(const torch::Tensor& x, const torch::Tensor& weight, int64_t padding,
                                const torch::Tensor& bias = {});

// Holds `bias` then `weight_orig` [out, in, k, k]; conv with the scaled weight.
struct EqualConvParamsImpl : torch::nn::Module {
  EqualConvParamsImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding);
  torch::Tensor forward(const torch::Tensor& x);
  // forward(x upsampled 2x by nearest neighbour), for a 3x3 padding-1
  // convolution: each output pixel phase is a 2x2 convolution of x with
  // summed taps, 2.25x fewer multiplications than convolving the upsampled
  // image (the identity behind the reference's FusedUpsample). Computed
  // directly below 16x16, where the split does not pay.
  torch::Tensor forward_upsampled(const torch::Tensor& x);
  // avg_pool2d(forward(x), 2), for a 3x3 padding-1 convolution and even
  // sizes: one 2x2 convolution of x's 2x2 pixel phases (FusedDownsample's
  // 4x4 stride-2 kernel, split by phase), 2.25x fewer multiplications;
  // directly below 16x16.
  torch::Tensor forward_pooled(const torch::Tensor& x);
  torch::Tensor bias, weight_orig;
  int64_t padding;
  double scale;

 private:
  // How a 3x3 kernel sums into the phases' 2x2 taps, times `factor`, on the
  // weight's device and dtype (see layers.cpp); not a buffer, so not in
  // state dicts.
  const torch::Tensor& phase_taps(const torch::Tensor& like, double factor);
  torch::Tensor phase_taps_;
  double phase_taps_factor_ = 0;
};
TORCH_MODULE(EqualConvParams);

// EqualConv2d: keys conv.bias, conv.weight_orig.
struct EqualConv2dImpl : torch::nn::Module {
  EqualConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding = 0);
  torch::Tensor forward(const torch::Tensor& x) { return conv->forward(x); }
  EqualConvParams conv;
};
TORCH_MODULE(EqualConv2d);

struct EqualLinearParamsImpl : torch::nn::Module {
  EqualLinearParamsImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor bias, weight_orig;
  double scale;
};
TORCH_MODULE(EqualLinearParams);

// EqualLinear: keys linear.bias, linear.weight_orig.
struct EqualLinearImpl : torch::nn::Module {
  EqualLinearImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x) { return linear->forward(x); }
  EqualLinearParams linear;
};
TORCH_MODULE(EqualLinear);

// x / sqrt(mean(x^2 over channels) + 1e-8).
struct PixelNormImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(PixelNorm);

// Depthwise 3x3 binomial blur [1 2 1]^T [1 2 1] / 16, padding 1; buffers
// `weight` and `weight_flip` (identical: the kernel is symmetric).
struct BlurImpl : torch::nn::Module {
  explicit BlurImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, weight_flip;
};
TORCH_MODULE(Blur);

// Transposed conv with the 3x3 kernel summed over 4 shifts into 4x4 and
// divided by 4 (rosinality's quirk: 1/4 the gain of nearest + conv), stride 2.
struct FusedUpsampleImpl : torch::nn::Module {
  FusedUpsampleImpl(int64_t in, int64_t out, int64_t kernel = 3, int64_t padding = 1);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // weight [in, out, k, k]
  int64_t padding;
  double multiplier;
};
TORCH_MODULE(FusedUpsample);

// The same 4x4 averaged kernel, strided conv (the official *0.25 downscale).
struct FusedDownsampleImpl : torch::nn::Module {
  FusedDownsampleImpl(int64_t in, int64_t out, int64_t kernel = 3, int64_t padding = 1);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // weight [out, in, k, k]
  int64_t padding;
  double multiplier;
};
TORCH_MODULE(FusedDownsample);

// x + weight * noise, weight_orig [1, C, 1, 1] zero-initialised, equal-lr.
struct NoiseInjectionImpl : torch::nn::Module {
  explicit NoiseInjectionImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& noise);
  torch::Tensor weight_orig;
  double scale;
};
TORCH_MODULE(NoiseInjection);

// The learned 4x4 input, `input` [1, C, 4, 4], repeated over the batch.
struct ConstantInputImpl : torch::nn::Module {
  explicit ConstantInputImpl(int64_t channels, int64_t size = 4);
  torch::Tensor forward(const torch::Tensor& like_batch);
  torch::Tensor input;
};
TORCH_MODULE(ConstantInput);

// gamma * InstanceNorm(x) + beta with (gamma, beta) = style(w); the style
// layer's bias starts at gamma = 1, beta = 0. IN eps 1e-5, no affine.
struct AdaptiveInstanceNormImpl : torch::nn::Module {
  AdaptiveInstanceNormImpl(int64_t channels, int64_t style_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& style);
  EqualLinear style{nullptr};
  int64_t channels;
};
TORCH_MODULE(AdaptiveInstanceNorm);

// Mean over the batch of each feature's standard deviation, as one extra
// feature map (the reference takes the whole batch as the group).
torch::Tensor minibatch_stddev(const torch::Tensor& x);

}  // namespace sg::stylegan
