#include "model/stylegan2/layers.hpp"

#include <cmath>
#include <stdexcept>

#include "model/devices/precision.hpp"
#include "model/stylegan/layers.hpp"

namespace sg::stylegan2 {

namespace F = torch::nn::functional;

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

torch::Tensor depthwise_fir(const torch::Tensor& x, const torch::Tensor& kernel);

// A "valid" correlation of every channel with one 2-D kernel (a constant),
// whose gradient is the same Function on the padded gradient with the
// flipped kernel: differentiated again (the path-length and R1 penalties)
// it stays depthwise convolutions, where LibTorch's double backward of a
// grouped convolution loops over the channel groups.
struct DepthwiseFirFunction : torch::autograd::Function<DepthwiseFirFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& kernel) {
    ctx->save_for_backward({kernel});
    const int64_t channels = x.size(1);
    const torch::Tensor weight =
        kernel.to(x.scalar_type()).view({1, 1, kernel.size(0), kernel.size(1)}).expand({channels, 1, -1, -1});
    return F::conv2d(x, weight, F::Conv2dFuncOptions().groups(channels));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor kernel = ctx->get_saved_variables()[0];
    const int64_t kh = kernel.size(0) - 1, kw = kernel.size(1) - 1;
    const torch::Tensor padded = F::pad(grads[0], F::PadFuncOptions({kw, kw, kh, kh}));
    return {depthwise_fir(padded, kernel.flip({0, 1})), torch::Tensor()};
  }
};

torch::Tensor depthwise_fir(const torch::Tensor& x, const torch::Tensor& kernel) {
  return DepthwiseFirFunction::apply(x, kernel);
}

}  // namespace

torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& kernel, int64_t up, int64_t down, int64_t pad0,
                        int64_t pad1) {
  if (pad0 < 0 || pad1 < 0) throw std::invalid_argument("upfirdn2d: negative padding");
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  torch::Tensor out = x;
  if (up > 1) {
    // Each pixel followed by up-1 zeros along both axes.
    out = out.reshape({batch, channels, height, 1, width, 1});
    out = F::pad(out, F::PadFuncOptions({0, up - 1, 0, 0, 0, up - 1}));
    out = out.reshape({batch, channels, height * up, width * up});
  }
  // The correlation with the flipped kernel is upfirdn2d's convolution;
  // depthwise, one kernel per channel.
  out = F::pad(out, F::PadFuncOptions({pad0, pad1, pad0, pad1}));
  if (down == 1) return depthwise_fir(out, kernel.flip({0, 1}));
  const torch::Tensor weight =
      kernel.flip({0, 1}).to(out.scalar_type()).view({1, 1, kernel.size(0), kernel.size(1)}).expand(
          {channels, 1, kernel.size(0), kernel.size(1)});
  return F::conv2d(out, weight, F::Conv2dFuncOptions().stride(down).groups(channels));
}

torch::Tensor stride_two_transposed_conv3x3(const torch::Tensor& x, const torch::Tensor& weight) {
  if (x.is_cuda()) return F::conv_transpose2d(x, weight.transpose(0, 1), F::ConvTranspose2dFuncOptions().stride(2));
  using torch::indexing::None;
  using torch::indexing::Slice;
  const int64_t batch = x.size(0), height = x.size(2), width = x.size(3);
  // Output row 2m takes input rows m-1 and m through kernel rows 2 and 0;
  // row 2m+1 takes row m through kernel row 1 (the same for columns).
  enum Phase { even, odd };
  auto taps_along = [](const torch::Tensor& w, int64_t dim, Phase phase) {
    return phase == even ? w.slice(dim, 0, 3, 2).flip({dim}) : w.slice(dim, 1, 2);
  };
  auto taps = [&](Phase rows, Phase cols) { return taps_along(taps_along(weight, 2, rows), 3, cols).contiguous(); };
  auto conv = [&](const torch::Tensor& kernel, int64_t pad_rows, int64_t pad_cols) {
    return F::conv2d(x, kernel, F::Conv2dFuncOptions().padding({pad_rows, pad_cols}));
  };
  // The square phases through stride_one_conv2d, whose own double backward
  // is native convolutions (the path-length penalty differentiates twice).
  const torch::Tensor ee = stylegan::stride_one_conv2d(x, taps(even, even), 1);  // [H+1, W+1]
  const torch::Tensor eo = conv(taps(even, odd), 1, 0);                    // [H+1, W]
  const torch::Tensor oe = conv(taps(odd, even), 0, 1);                    // [H, W+1]
  const torch::Tensor oo = stylegan::stride_one_conv2d(x, taps(odd, odd), 0);    // [H, W]
  torch::Tensor out = torch::empty({batch, weight.size(0), 2 * height + 1, 2 * width + 1}, x.options());
  out.index_put_({Slice(), Slice(), Slice(0, None, 2), Slice(0, None, 2)}, ee);
  out.index_put_({Slice(), Slice(), Slice(0, None, 2), Slice(1, None, 2)}, eo);
  out.index_put_({Slice(), Slice(), Slice(1, None, 2), Slice(0, None, 2)}, oe);
  out.index_put_({Slice(), Slice(), Slice(1, None, 2), Slice(1, None, 2)}, oo);
  return out;
}

torch::Tensor make_blur_kernel(const std::array<float, 4>& taps, double gain) {
  const torch::Tensor k = torch::tensor({taps[0], taps[1], taps[2], taps[3]});
  torch::Tensor kernel = k.unsqueeze(0) * k.unsqueeze(1);
  return kernel / kernel.sum() * gain;
}

BlurImpl::BlurImpl(int64_t pad0_, int64_t pad1_, int64_t upsample_factor) : pad0(pad0_), pad1(pad1_) {
  const double gain = upsample_factor > 1 ? static_cast<double>(upsample_factor * upsample_factor) : 1.0;
  kernel = register_buffer("kernel", make_blur_kernel({1, 3, 3, 1}, gain));
}

torch::Tensor BlurImpl::forward(const torch::Tensor& x) { return upfirdn2d(x, kernel, 1, 1, pad0, pad1); }

UpsampleImpl::UpsampleImpl() { kernel = register_buffer("kernel", make_blur_kernel({1, 3, 3, 1}, 4.0)); }

// Kernel 4, factor 2: p = 2, pads (p + 1) / 2 + factor - 1 = 2 and p / 2 = 1.
torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) { return upfirdn2d(x, kernel, 2, 1, 2, 1); }

torch::Tensor fused_leaky_relu(const torch::Tensor& x, const torch::Tensor& bias) {
  torch::Tensor in = x;
  if (bias.defined()) {
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[1] = bias.size(0);
    in = x + parameter_like(bias, x).view(shape);  // bf16 stays bf16 under autocast
  }
  return F::leaky_relu(in, F::LeakyReLUFuncOptions().negative_slope(0.2)) * std::sqrt(2.0);
}

FusedLeakyReLUImpl::FusedLeakyReLUImpl(int64_t channels, bool has_bias) {
  if (has_bias) bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor FusedLeakyReLUImpl::forward(const torch::Tensor& x) { return fused_leaky_relu(x, bias); }

EqualConv2dImpl::EqualConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride_, int64_t padding_,
                                 bool has_bias)
    : stride(stride_), padding(padding_), scale(1.0 / std::sqrt(static_cast<double>(in * kernel * kernel))) {
  weight = register_parameter("weight", torch::randn({out, in, kernel, kernel}));
  if (has_bias) bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor EqualConv2dImpl::forward(const torch::Tensor& x) {
  return F::conv2d(x, weight * scale, F::Conv2dFuncOptions().bias(bias).stride(stride).padding(padding));
}

EqualLinearImpl::EqualLinearImpl(int64_t in, int64_t out, double bias_init, double lr_mul_, bool activate_)
    : scale(lr_mul_ / std::sqrt(static_cast<double>(in))), lr_mul(lr_mul_), activate(activate_) {
  weight = register_parameter("weight", torch::randn({out, in}).div_(lr_mul_));
  bias = register_parameter("bias", torch::full({out}, bias_init));
}

torch::Tensor EqualLinearImpl::forward(const torch::Tensor& x) {
  if (activate) return fused_leaky_relu(F::linear(x, weight * scale), bias * lr_mul);
  return F::linear(x, weight * scale, bias * lr_mul);
}

torch::Tensor pixel_norm(const torch::Tensor& x) { return x * torch::rsqrt(x.pow(2).mean(1, /*keepdim=*/true) + 1e-8); }

torch::Tensor PixelNormImpl::forward(const torch::Tensor& x) { return pixel_norm(x); }

ModulatedConv2dImpl::ModulatedConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t style_dim,
                                         bool demodulate_, bool upsample_, bool downsample_)
    : in_channels(in),
      out_channels(out),
      kernel_size(kernel),
      padding(kernel / 2),
      scale(1.0 / std::sqrt(static_cast<double>(in * kernel * kernel))),
      demodulate(demodulate_),
      upsample(upsample_),
      downsample(downsample_) {
  // The blur's pads for a 4-tap kernel, factor 2 (as the reference derives them).
  const int64_t taps = 4, factor = 2;
  if (upsample) {
    const int64_t p = (taps - factor) - (kernel - 1);
    blur = register_module("blur", Blur((p + 1) / 2 + factor - 1, p / 2 + 1, factor));
  } else if (downsample) {
    const int64_t p = (taps - factor) + (kernel - 1);
    blur = register_module("blur", Blur((p + 1) / 2, p / 2));
  }
  weight = register_parameter("weight", torch::randn({1, out, in, kernel, kernel}));
  modulation = register_module("modulation", EqualLinear(style_dim, in, /*bias_init=*/1.0));
}

torch::Tensor ModulatedConv2dImpl::forward(const torch::Tensor& x, const torch::Tensor& style) {
  const int64_t batch = x.size(0);
  const torch::Tensor w = weight.squeeze(0) * scale;            // [out, in, k, k]
  const torch::Tensor s = modulation->forward(style);           // [B, in]
  torch::Tensor out = x * s.view({batch, in_channels, 1, 1});
  if (upsample) {
    out = kernel_size == 3 ? stride_two_transposed_conv3x3(out, w)
                           : F::conv_transpose2d(out, w.transpose(0, 1), F::ConvTranspose2dFuncOptions().stride(2));
    out = blur->forward(out);
  } else if (downsample) {
    out = F::conv2d(blur->forward(out), w, F::Conv2dFuncOptions().stride(2));
  } else {
    out = stylegan::stride_one_conv2d(out, w, padding);
  }
  if (demodulate) {
    // 1 / |W * s| per sample and output channel: sum over (in, k, k) of
    // w^2 s^2 is (s^2) (sum over k, k of w^2)^T.
    const torch::Tensor w2 = w.pow(2).sum({2, 3});               // [out, in]
    const torch::Tensor d = torch::rsqrt(torch::mm(s.pow(2), w2.t()) + 1e-8);  // [B, out]
    out = out * d.view({batch, out_channels, 1, 1});
  }
  return out;
}

torch::Tensor ModulatedConv2dImpl::forward_grouped(const torch::Tensor& x, const torch::Tensor& style) {
  const int64_t batch = x.size(0), height = x.size(2), width = x.size(3);
  const torch::Tensor s = modulation->forward(style).view({batch, 1, in_channels, 1, 1});
  torch::Tensor w = scale * weight * s;  // [B, out, in, k, k]
  if (demodulate) {
    const torch::Tensor d = torch::rsqrt(w.pow(2).sum({2, 3, 4}) + 1e-8);
    w = w * d.view({batch, out_channels, 1, 1, 1});
  }
  torch::Tensor out;
  if (upsample) {
    const torch::Tensor input = x.reshape({1, batch * in_channels, height, width});
    const torch::Tensor wt =
        w.transpose(1, 2).reshape({batch * in_channels, out_channels, kernel_size, kernel_size});
    out = F::conv_transpose2d(input, wt, F::ConvTranspose2dFuncOptions().stride(2).groups(batch));
    out = blur->forward(out.view({batch, out_channels, out.size(2), out.size(3)}));
  } else {
    const torch::Tensor wg = w.reshape({batch * out_channels, in_channels, kernel_size, kernel_size});
    torch::Tensor input = downsample ? blur->forward(x) : x;
    input = input.reshape({1, batch * in_channels, input.size(2), input.size(3)});
    out = downsample ? F::conv2d(input, wg, F::Conv2dFuncOptions().stride(2).groups(batch))
                     : F::conv2d(input, wg, F::Conv2dFuncOptions().padding(padding).groups(batch));
    out = out.view({batch, out_channels, out.size(2), out.size(3)});
  }
  return out;
}

NoiseInjectionImpl::NoiseInjectionImpl() { weight = register_parameter("weight", torch::zeros({1})); }

torch::Tensor NoiseInjectionImpl::forward(const torch::Tensor& image, const torch::Tensor& noise) {
  const torch::Tensor strength = parameter_like(weight, image);
  if (noise.defined()) return image + strength * noise.to(image.scalar_type());
  return image + strength * torch::randn({image.size(0), 1, image.size(2), image.size(3)}, image.options());
}

ConstantInputImpl::ConstantInputImpl(int64_t channels, int64_t size) {
  input = register_parameter("input", torch::randn({1, channels, size, size}));
}

torch::Tensor ConstantInputImpl::forward(int64_t batch) { return input.repeat({batch, 1, 1, 1}); }

StyledConvImpl::StyledConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t style_dim, bool upsample)
    : conv(register_module("conv", ModulatedConv2d(in, out, kernel, style_dim, true, upsample))),
      noise(register_module("noise", NoiseInjection())),
      activate(register_module("activate", FusedLeakyReLU(out))) {}

torch::Tensor StyledConvImpl::forward(const torch::Tensor& x, const torch::Tensor& style, const torch::Tensor& n) {
  return activate->forward(noise->forward(conv->forward(x, style), n));
}

ToRGBImpl::ToRGBImpl(int64_t in, int64_t image_channels, int64_t style_dim, bool has_upsample) {
  if (has_upsample) upsample = register_module("upsample", Upsample());
  conv = register_module("conv", ModulatedConv2d(in, image_channels, 1, style_dim, /*demodulate=*/false));
  bias = register_parameter("bias", torch::zeros({1, image_channels, 1, 1}));
}

torch::Tensor ToRGBImpl::forward(const torch::Tensor& x, const torch::Tensor& style, const torch::Tensor& skip) {
  torch::Tensor out = conv->forward(x, style);
  out = out + parameter_like(bias, out);
  if (skip.defined()) out = out + upsample->forward(skip);
  return out;
}

ConvLayerImpl::ConvLayerImpl(int64_t in, int64_t out, int64_t kernel, bool downsample, bool bias, bool activate) {
  int64_t stride = 1, padding = kernel / 2;
  int child = 0;
  if (downsample) {
    const int64_t p = (4 - 2) + (kernel - 1);
    blur = register_module(std::to_string(child++), Blur((p + 1) / 2, p / 2));
    stride = 2;
    padding = 0;
  }
  conv = register_module(std::to_string(child++), EqualConv2d(in, out, kernel, stride, padding, bias && !activate));
  if (activate) activation = register_module(std::to_string(child++), FusedLeakyReLU(out, bias));
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = conv->forward(blur ? blur->forward(x) : x);
  return activation ? activation->forward(out) : out;
}

ResBlockImpl::ResBlockImpl(int64_t in, int64_t out)
    : conv1(register_module("conv1", ConvLayer(in, in, 3, false))),
      conv2(register_module("conv2", ConvLayer(in, out, 3, true))),
      skip(register_module("skip", ConvLayer(in, out, 1, true, /*bias=*/false, /*activate=*/false))) {}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x) {
  return (conv2->forward(conv1->forward(x)) + skip->forward(x)) / std::sqrt(2.0);
}

torch::Tensor grouped_minibatch_stddev(const torch::Tensor& x, int64_t group_size) {
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t group = std::min(batch, group_size);
  if (batch % group != 0)
    throw std::invalid_argument("minibatch stddev: a batch of " + std::to_string(batch) +
                                " does not divide into groups of " + std::to_string(group));
  // Sample i belongs to group i % (batch / group), as the reference's view.
  // In fp32 whatever x is: bf16's 8-bit mantissa would round the variance
  // of near-equal samples to nothing.
  torch::Tensor y = full_precision(x).view({group, -1, 1, channels, height, width});
  y = torch::sqrt(y.var(0, /*unbiased=*/false) + 1e-8);     // [B/group, 1, C, H, W]
  y = y.mean({2, 3, 4}, /*keepdim=*/true).squeeze(2);      // [B/group, 1, 1, 1]
  y = y.repeat({group, 1, height, width});                 // [B, 1, H, W]
  return torch::cat({x, y.to(x.scalar_type())}, 1);
}

}  // namespace sg::stylegan2
