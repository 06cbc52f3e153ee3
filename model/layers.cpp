#include "model/layers.hpp"

#include <cmath>

namespace sg {

namespace F = torch::nn::functional;

double equal_lr_scale(const torch::Tensor& weight) {
  double fan_in = static_cast<double>(weight.size(1));
  for (int64_t d = 2; d < weight.dim(); ++d) fan_in *= static_cast<double>(weight.size(d));
  return std::sqrt(2.0 / fan_in);
}

EqualConvParamsImpl::EqualConvParamsImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding_)
    : padding(padding_) {
  bias = register_parameter("bias", torch::zeros({out}));
  weight_orig = register_parameter("weight_orig", torch::randn({out, in, kernel, kernel}));
  scale = equal_lr_scale(weight_orig);
}

torch::Tensor EqualConvParamsImpl::forward(const torch::Tensor& x) {
  return F::conv2d(x, weight_orig * scale, F::Conv2dFuncOptions().bias(bias).padding(padding));
}

EqualConv2dImpl::EqualConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding)
    : conv(register_module("conv", EqualConvParams(in, out, kernel, padding))) {}

EqualLinearParamsImpl::EqualLinearParamsImpl(int64_t in, int64_t out) {
  bias = register_parameter("bias", torch::zeros({out}));
  weight_orig = register_parameter("weight_orig", torch::randn({out, in}));
  scale = equal_lr_scale(weight_orig);
}

torch::Tensor EqualLinearParamsImpl::forward(const torch::Tensor& x) {
  return F::linear(x, weight_orig * scale, bias);
}

EqualLinearImpl::EqualLinearImpl(int64_t in, int64_t out)
    : linear(register_module("linear", EqualLinearParams(in, out))) {}

torch::Tensor PixelNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(1, /*keepdim=*/true) + 1e-8);
}

BlurImpl::BlurImpl(int64_t channels) {
  auto k = torch::tensor({1.f, 2.f, 1.f});
  auto kernel = (k.unsqueeze(1) * k.unsqueeze(0)) / 16.f;
  auto w = kernel.view({1, 1, 3, 3}).repeat({channels, 1, 1, 1});
  weight = register_buffer("weight", w);
  weight_flip = register_buffer("weight_flip", w.flip({2, 3}).clone());
}

torch::Tensor BlurImpl::forward(const torch::Tensor& x) {
  // Native depthwise conv has a double backward, which the gradient
  // penalties need; the reference wrote one by hand.
  return F::conv2d(x, weight, F::Conv2dFuncOptions().padding(1).groups(x.size(1)));
}

namespace {

// The 3x3 kernel padded to 5x5 and summed over its four 1-pixel shifts:
// a 4x4 kernel, divided by 4.
torch::Tensor four_tap_kernel(const torch::Tensor& w) {
  auto p = F::pad(w, F::PadFuncOptions({1, 1, 1, 1}));
  using torch::indexing::Slice;
  using torch::indexing::None;
  return (p.index({Slice(), Slice(), Slice(1, None), Slice(1, None)}) +
          p.index({Slice(), Slice(), Slice(None, -1), Slice(1, None)}) +
          p.index({Slice(), Slice(), Slice(1, None), Slice(None, -1)}) +
          p.index({Slice(), Slice(), Slice(None, -1), Slice(None, -1)})) /
         4;
}

}  // namespace

FusedUpsampleImpl::FusedUpsampleImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding_) : padding(padding_) {
  weight = register_parameter("weight", torch::randn({in, out, kernel, kernel}));
  bias = register_parameter("bias", torch::zeros({out}));
  multiplier = std::sqrt(2.0 / static_cast<double>(in * kernel * kernel));
}

torch::Tensor FusedUpsampleImpl::forward(const torch::Tensor& x) {
  auto w = four_tap_kernel(weight * multiplier);
  return F::conv_transpose2d(x, w, F::ConvTranspose2dFuncOptions().bias(bias).stride(2).padding(padding));
}

FusedDownsampleImpl::FusedDownsampleImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding_)
    : padding(padding_) {
  weight = register_parameter("weight", torch::randn({out, in, kernel, kernel}));
  bias = register_parameter("bias", torch::zeros({out}));
  multiplier = std::sqrt(2.0 / static_cast<double>(in * kernel * kernel));
}

torch::Tensor FusedDownsampleImpl::forward(const torch::Tensor& x) {
  auto w = four_tap_kernel(weight * multiplier);
  return F::conv2d(x, w, F::Conv2dFuncOptions().bias(bias).stride(2).padding(padding));
}

NoiseInjectionImpl::NoiseInjectionImpl(int64_t channels) {
  weight_orig = register_parameter("weight_orig", torch::zeros({1, channels, 1, 1}));
  scale = equal_lr_scale(weight_orig);
}

torch::Tensor NoiseInjectionImpl::forward(const torch::Tensor& x, const torch::Tensor& noise) {
  return x + (weight_orig * scale) * noise;
}

ConstantInputImpl::ConstantInputImpl(int64_t channels, int64_t size) {
  input = register_parameter("input", torch::randn({1, channels, size, size}));
}

torch::Tensor ConstantInputImpl::forward(const torch::Tensor& like_batch) {
  return input.expand({like_batch.size(0), -1, -1, -1});
}

AdaptiveInstanceNormImpl::AdaptiveInstanceNormImpl(int64_t channels_, int64_t style_dim) : channels(channels_) {
  style = register_module("style", EqualLinear(style_dim, channels * 2));
  torch::NoGradGuard no_grad;
  style->linear->bias.narrow(0, 0, channels).fill_(1);
  style->linear->bias.narrow(0, channels, channels).zero_();
}

torch::Tensor AdaptiveInstanceNormImpl::forward(const torch::Tensor& x, const torch::Tensor& w) {
  auto s = style->forward(w).unsqueeze(2).unsqueeze(3);
  auto gamma = s.narrow(1, 0, channels);
  auto beta = s.narrow(1, channels, channels);
  auto normalised = F::instance_norm(x, F::InstanceNormFuncOptions().eps(1e-5));
  return gamma * normalised + beta;
}

torch::Tensor minibatch_stddev(const torch::Tensor& x) {
  auto stddev = torch::sqrt(x.var(0, /*unbiased=*/false) + 1e-8).mean();
  return torch::cat({x, stddev.expand({x.size(0), 1, x.size(2), x.size(3)})}, 1);
}

}  // namespace sg
