#include "model/stylegan/layers.hpp"

#include "model/devices/precision.hpp"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace sg::stylegan {

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

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

torch::Tensor stride_one_conv_unbiased(const torch::Tensor& x, const torch::Tensor& weight, int64_t padding);

// The gradients of conv2d(x, weight, bias), stride 1, for the inputs asked
// for (x, weight, bias). Made of forward convolutions when they must be
// differentiable again (the gradient penalty): the native double backward
// finds the weight's second derivative by convolving batch-transposed
// tensors, which ran at a third of the convolution rate at 16x16 and cost a
// tenth of the iteration. Here the input gradient is a convolution with the
// transposed, flipped kernel through the same Function, so differentiating
// it again is the native (fast) convolution backward. Plain backward passes
// go straight to at::convolution_backward.
variable_list stride_one_conv_gradients(const torch::Tensor& grad, const torch::Tensor& x,
                                        const torch::Tensor& weight, int64_t padding, bool want_x, bool want_weight,
                                        bool want_bias) {
  if (!torch::GradMode::is_enabled()) {
    const std::vector<int64_t> bias_sizes = {weight.size(0)};
    auto [grad_x, grad_weight, grad_bias] = at::convolution_backward(
        grad, x, weight, want_bias ? c10::optional<at::IntArrayRef>(bias_sizes) : c10::nullopt, {1, 1},
        {padding, padding}, {1, 1}, false, {0, 0}, 1, {want_x, want_weight, want_bias});
    return {grad_x, grad_weight, grad_bias};
  }
  torch::Tensor grad_x, grad_weight, grad_bias;
  const int64_t kernel = weight.size(2);
  // The adjoint of a stride-1 correlation: correlate the gradient with the
  // kernel transposed in its channels and flipped in space, padded to the
  // full size.
  // (Flipped after the transposing copy: flipping the transposed view
  // leaves a strided tensor that every convolution call copies again.)
  if (want_x)
    grad_x = stride_one_conv_unbiased(grad, weight.transpose(0, 1).contiguous().flip({2, 3}), kernel - 1 - padding);
  // dW[o, i] = sum over batch and pixels of grad[o] * shifted x[i]: a
  // correlation of x with grad over the batch axis, channels as the batch.
  if (want_weight)
    grad_weight = stride_one_conv_unbiased(x.transpose(0, 1), grad.transpose(0, 1), padding).transpose(0, 1);
  if (want_bias) grad_bias = grad.sum({0, 2, 3});
  return {grad_x, grad_weight, grad_bias};
}

// Two Functions, since LibTorch 1.13's Function cannot take an undefined
// tensor as an input.
struct StrideOneConvFunction : torch::autograd::Function<StrideOneConvFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               int64_t padding) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["padding"] = padding;
    return at::conv2d(x, weight, {}, 1, padding);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto g = stride_one_conv_gradients(grads[0], saved[0], saved[1], ctx->saved_data["padding"].toInt(),
                                       ctx->needs_input_grad(0), ctx->needs_input_grad(1), false);
    return {g[0], g[1], torch::Tensor()};
  }
};

struct BiasedStrideOneConvFunction : torch::autograd::Function<BiasedStrideOneConvFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, int64_t padding) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["padding"] = padding;
    return at::conv2d(x, weight, bias, 1, padding);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto g = stride_one_conv_gradients(grads[0], saved[0], saved[1], ctx->saved_data["padding"].toInt(),
                                       ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2));
    return {g[0], g[1], g[2], torch::Tensor()};
  }
};

torch::Tensor stride_one_conv_unbiased(const torch::Tensor& x, const torch::Tensor& weight, int64_t padding) {
  return StrideOneConvFunction::apply(x, weight, padding);
}

}  // namespace

namespace {
ConvolutionSettings current_convolution_settings;
}  // namespace

void set_convolution_settings(const ConvolutionSettings& settings) { current_convolution_settings = settings; }
const ConvolutionSettings& convolution_settings() { return current_convolution_settings; }

torch::Tensor stride_one_conv2d(const torch::Tensor& x, const torch::Tensor& weight, int64_t padding,
                                const torch::Tensor& bias) {
  const auto& settings = current_convolution_settings;
  if (!settings.own_double_backward ||
      (x.is_cuda() && std::min(x.size(2), x.size(3)) < settings.cuda_own_double_backward_minimum_size))
    return F::conv2d(x, weight, F::Conv2dFuncOptions().padding(padding).bias(bias));
  if (!bias.defined()) return StrideOneConvFunction::apply(autocast_input(x), autocast_input(weight), padding);
  return BiasedStrideOneConvFunction::apply(autocast_input(x), autocast_input(weight), autocast_input(bias), padding);
}

namespace {

// The bias as a [1, C, 1, 1] view in the dtype of the convolution's output.
// Under bf16 autocast a float32 bias would promote the sum, and with it
// every elementwise step up to the next convolution, to float32: twice the
// bytes and a cast back at each convolution.
torch::Tensor bias_like(const torch::Tensor& bias, const torch::Tensor& output) {
  return parameter_like(bias, output).view({1, -1, 1, 1});
}

}  // namespace

torch::Tensor EqualConvParamsImpl::forward(const torch::Tensor& x) {
  // conv(x, w * c) + b == c * conv(x, w) + b: scale whichever is smaller.
  // At 4x4 and 8x8 a batch's output is several times smaller than a
  // 512x512x3x3 weight, and the scaled weight is rebuilt (and
  // differentiated) at every forward.
  const int64_t kernel = weight_orig.size(2);
  const int64_t out_h = x.size(2) + 2 * padding - kernel + 1, out_w = x.size(3) + 2 * padding - kernel + 1;
  const int64_t output_numel = x.size(0) * weight_orig.size(0) * out_h * out_w;
  // The bias goes into the convolution: no view, cast and add of its own,
  // nor their backward steps (host-bound operators at 8x8 and 16x16).
  if (output_numel >= weight_orig.numel()) return stride_one_conv2d(x, weight_orig * scale, padding, bias);
  auto out = stride_one_conv2d(x, weight_orig, padding);
  return torch::add(bias_like(bias, out), out, scale);
}

EqualConv2dImpl::EqualConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t padding)
    : conv(register_module("conv", EqualConvParams(in, out, kernel, padding))) {}

EqualLinearParamsImpl::EqualLinearParamsImpl(int64_t in, int64_t out) {
  bias = register_parameter("bias", torch::zeros({out}));
  weight_orig = register_parameter("weight_orig", torch::randn({out, in}));
  scale = equal_lr_scale(weight_orig);
}

torch::Tensor EqualLinearParamsImpl::forward(const torch::Tensor& x) {
  // b + c * (x w^T) in one call, without a scaled copy of the weight.
  if (x.dim() == 2) return torch::addmm(bias, x, weight_orig.t(), /*beta=*/1, /*alpha=*/scale);
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

namespace {

// In the kernel's dtype of x: under bf16 autocast the backward steps get
// bf16 gradients and run outside the autocast scope.
torch::Tensor depthwise_3x3(const torch::Tensor& x, const torch::Tensor& kernel) {
  return F::conv2d(x, kernel.to(x.scalar_type()), F::Conv2dFuncOptions().padding(1).groups(x.size(1)));
}

// The blur's gradient as its own differentiable step, as the reference's
// BlurFunctionBackward: the adjoint of a correlation is the correlation
// with the flipped kernel, and the adjoint of that is the kernel again.
struct BlurBackwardFunction : torch::autograd::Function<BlurBackwardFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& grad, const torch::Tensor& kernel,
                               const torch::Tensor& kernel_flip) {
    ctx->save_for_backward({kernel});
    return depthwise_3x3(grad, kernel_flip);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto kernel = ctx->get_saved_variables()[0];
    return {depthwise_3x3(grads[0], kernel), torch::Tensor(), torch::Tensor()};
  }
};

struct BlurFunction : torch::autograd::Function<BlurFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& kernel,
                               const torch::Tensor& kernel_flip) {
    ctx->save_for_backward({kernel, kernel_flip});
    return depthwise_3x3(x, kernel);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    return {BlurBackwardFunction::apply(grads[0], saved[0], saved[1]), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor BlurImpl::forward(const torch::Tensor& x) {
  // Not the native depthwise conv's autograd: its double backward (which
  // the gradient penalty runs) loops over the 512 channel groups one small
  // convolution at a time, a tenth of an iteration at 8x8. The kernel is a
  // constant, so both backward steps are one depthwise convolution each.
  return BlurFunction::apply(x, weight, weight_flip);
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

namespace {

// Below this convolution size the split's kernel arithmetic (over the whole
// 512x512x3x3 weight) and extra calls cost more than the multiplications it
// saves: at 8x8 it was 5-20% slower, at 16x16 1.7x faster, forward and backward.
void require_three_by_three_same(const EqualConvParamsImpl& conv, const char* what) {
  TORCH_CHECK(conv.weight_orig.size(2) == 3 && conv.weight_orig.size(3) == 3 && conv.padding == 1, what,
              " needs a 3x3 convolution with padding 1");
}

// Row a * 2 + i says how the rows (or columns) p = 0..2 of a 3x3 kernel
// add up to tap i of pixel phase a through a 2x nearest upsample: output
// rows 2r read input rows (r - 1, r) with (w0, w1 + w2), rows 2r + 1 read
// (r, r + 1) with (w0 + w1, w2). Returned as the 16 x 9 matrix taking a
// flattened 3x3 kernel (p, q) to the 2x2 taps (a, b, i, j) of its phases,
// times `factor`.
torch::Tensor make_phase_taps(double factor) {
  const auto one_axis = torch::tensor({1., 0., 0., 0., 1., 1., 1., 1., 0., 0., 0., 1.}, torch::kDouble).view({4, 3});
  // kron's row (a * 2 + i) * 4 + b * 2 + j, reordered to (a, b, i, j).
  return (torch::kron(one_axis, one_axis) * factor).view({2, 2, 2, 2, 9}).permute({0, 2, 1, 3, 4}).reshape({16, 9});
}

// The 2x2 kernels of a 3x3 kernel w [o, c, 3, 3]'s four pixel phases as
// [a, b, i, j, o, c]: phase (a, b) (output row parity a, column parity b),
// tap (i, j), scaled by the taps' factor. One matrix product for every
// kernel and phase at once, phase-major: a third of the time of two
// products over rows then columns and the copies between them (on CUDA the
// slice-and-add steps it replaces were dozens of launches).
torch::Tensor phase_kernels(const torch::Tensor& w, const torch::Tensor& taps) {
  // In w's dtype: autocast would round the kernels to bf16 before the sums.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const int64_t out = w.size(0), in = w.size(1);
  return torch::mm(taps, w.reshape({-1, 9}).t()).view({2, 2, 2, 2, out, in});
}

}  // namespace

const torch::Tensor& EqualConvParamsImpl::phase_taps(const torch::Tensor& like, double factor) {
  // Made once per device, dtype and factor: a fresh one would be a
  // host-to-device copy at every call on CUDA.
  if (!phase_taps_.defined() || phase_taps_.device() != like.device() || phase_taps_.dtype() != like.dtype() ||
      phase_taps_factor_ != factor) {
    phase_taps_ = make_phase_taps(factor).to(like.options());
    phase_taps_factor_ = factor;
  }
  return phase_taps_;
}

torch::Tensor EqualConvParamsImpl::forward_upsampled(const torch::Tensor& x) {
  require_three_by_three_same(*this, "forward_upsampled");
  if (2 * std::min(x.size(2), x.size(3)) < current_convolution_settings.phase_split_minimum_size)
    return forward(F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)));
  // [a * 2 + b, o, c, i, j]: one contiguous 2x2 kernel per phase.
  // The equalised-lr scale rides in the taps: no pass over the weight for it.
  const auto kernels = phase_kernels(weight_orig, phase_taps(weight_orig, scale))
                           .permute({0, 1, 4, 5, 2, 3})
                           .reshape({4, weight_orig.size(0), weight_orig.size(1), 2, 2})
                           .unbind(0);
  std::vector<torch::Tensor> phases;
  for (int64_t a = 0; a < 2; ++a) {
    for (int64_t b = 0; b < 2; ++b) {
      // Phase (a, b) reads input rows i - 1 + a .. i + a: pad 1 - a above, a below.
      auto padded = F::pad(x, F::PadFuncOptions({1 - b, b, 1 - a, a}));
      phases.push_back(stride_one_conv2d(padded, kernels[a * 2 + b], 0));
    }
  }
  // Channel o * 4 + a * 2 + b of the stack is pixel (2i + a, 2j + b) of channel o.
  auto stacked = torch::stack(phases, 2).flatten(1, 2);
  auto out = torch::pixel_shuffle(stacked, 2);
  return out + bias_like(bias, out);
}

torch::Tensor EqualConvParamsImpl::forward_pooled(const torch::Tensor& x) {
  require_three_by_three_same(*this, "forward_pooled");
  TORCH_CHECK(x.size(2) % 2 == 0 && x.size(3) % 2 == 0, "forward_pooled needs even sizes, got ", x.sizes());
  if (std::min(x.size(2), x.size(3)) < current_convolution_settings.phase_split_minimum_size)
    return F::avg_pool2d(forward(x), F::AvgPool2dFuncOptions(2));
  // Pooled output (i, j) reads rows 2i - 1 .. 2i + 2 of x, i.e. rows i .. i + 1
  // of phases a = 0, 1 of x padded by 1. Along one axis the pooled taps are
  // (w0, w0 + w1, w1 + w2, w2) / 2: phase 0 takes (w0, w1 + w2) / 2 and
  // phase 1 (w0 + w1, w2) / 2, the upsampling taps halved.
  // Input channel c * 4 + a * 2 + b is phase (a, b) of channel c, as pixel_unshuffle orders them.
  auto phase_kernel = phase_kernels(weight_orig, phase_taps(weight_orig, scale / 4))
                          .permute({4, 5, 0, 1, 2, 3})
                          .reshape({weight_orig.size(0), weight_orig.size(1) * 4, 2, 2});
  auto phases = torch::pixel_unshuffle(F::pad(x, F::PadFuncOptions({1, 1, 1, 1})), 2);
  return stride_one_conv2d(phases, phase_kernel, 0, bias);
}

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
  // One pass over x, in x's dtype (see bias_like): the product is never
  // materialised at full size.
  // The strength is scaled before its cast: casting weight_orig and scaling
  // inside addcmul saves an operator but moved the bf16 G-step gradient test
  // from cosine 0.9777 to 0.9761.
  return torch::addcmul(x, parameter_like(noise, x), parameter_like(weight_orig * scale, x));
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
  // Instance norm is batch norm over the batch's images taken as channels
  // [1, N * C, H, W] (LibTorch's instance_norm does that reshape itself);
  // AdaIN's per-image, per-channel gamma and beta are then that batch norm's
  // affine weight and bias, applied in the normalising pass instead of two
  // more passes (and their backward and double-backward steps).
  const auto s = style->forward(w).to(x.scalar_type());
  const auto gamma = s.narrow(1, 0, channels).reshape({-1});
  const auto beta = s.narrow(1, channels, channels).reshape({-1});
  const auto as_channels = x.reshape({1, x.size(0) * x.size(1), x.size(2), x.size(3)});
  return torch::batch_norm(as_channels, gamma, beta, {}, {}, /*training=*/true, /*momentum=*/0.0, /*eps=*/1e-5,
                           at::globalContext().userEnabledCuDNN())
      .reshape(x.sizes());
}

torch::Tensor minibatch_stddev(const torch::Tensor& x) {
  // At least float32: a variance of near-equal bf16 values would lose most
  // of its digits.
  const auto wide = x.to(c10::promoteTypes(x.scalar_type(), torch::kFloat));
  auto stddev = torch::sqrt(wide.var(0, /*unbiased=*/false) + 1e-8).mean().to(x.scalar_type());
  return torch::cat({x, stddev.expand({x.size(0), 1, x.size(2), x.size(3)})}, 1);
}

}  // namespace sg::stylegan
