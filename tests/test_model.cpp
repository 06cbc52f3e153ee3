// The StyleGAN networks and losses: parity with the reference (counts,
// names), layer arithmetic, mixing, determinism, the gradient penalty against
// finite differences, and short trainings that must move the losses.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <iostream>

#include "model/core/adam_step.hpp"
#include "model/core/ema.hpp"
#include "model/devices/flop_count.hpp"
#include "model/devices/op_profile.hpp"
#include "model/devices/precision.hpp"
#include "model/stylegan/losses.hpp"
#include "model/stylegan/networks.hpp"
#include "model/stylegan/train_step.hpp"

namespace sg {
namespace {

using namespace stylegan;

namespace F = torch::nn::functional;

StyleGanConfig tiny_config(int max_size = 32) {
  StyleGanConfig c;
  c.max_size = max_size;
  c.max_channels = 16;
  c.image_channels = 1;
  c.style_dim = 16;
  return c;
}

TEST(ModelParity, ParameterCountsMatchTheReference) {
  StyleGanConfig full;  // 1024, width 512, RGB, from_rgb activation
  StyledGenerator g(full);
  Discriminator d(full);
  EXPECT_EQ(count_parameters(*g), 26219115);
  EXPECT_EQ(count_parameters(*g->style), 2101248);
  EXPECT_EQ(count_parameters(*d), 25444737);
}

TEST(ModelParity, StateDictNamesAndShapesMatchTheReference) {
  StyleGanConfig full;
  StyledGenerator g(full);
  Discriminator d(full);
  auto shape = [](torch::nn::Module& m, const std::string& key) -> std::vector<int64_t> {
    auto params = m.named_parameters();
    if (auto* p = params.find(key)) return p->sizes().vec();
    auto buffers = m.named_buffers();
    if (auto* b = buffers.find(key)) return b->sizes().vec();
    return {};
  };
  using V = std::vector<int64_t>;
  EXPECT_EQ(shape(*g, "generator.progression.0.conv1.input"), (V{1, 512, 4, 4}));
  EXPECT_EQ(shape(*g, "generator.progression.0.noise1.weight_orig"), (V{1, 512, 1, 1}));
  EXPECT_EQ(shape(*g, "generator.progression.0.adain1.style.linear.weight_orig"), (V{1024, 512}));
  EXPECT_EQ(shape(*g, "generator.progression.0.conv2.conv.weight_orig"), (V{512, 512, 3, 3}));
  EXPECT_EQ(shape(*g, "generator.progression.4.conv1.1.conv.weight_orig"), (V{256, 512, 3, 3}));
  EXPECT_EQ(shape(*g, "generator.progression.4.conv1.2.weight"), (V{256, 1, 3, 3}));
  EXPECT_EQ(shape(*g, "generator.progression.4.conv1.2.weight_flip"), (V{256, 1, 3, 3}));
  EXPECT_EQ(shape(*g, "generator.progression.5.conv1.0.weight"), (V{256, 128, 3, 3}));
  EXPECT_EQ(shape(*g, "generator.progression.5.conv1.0.bias"), (V{128}));
  EXPECT_EQ(shape(*g, "generator.progression.8.conv1.1.weight"), (V{16, 1, 3, 3}));
  EXPECT_EQ(shape(*g, "generator.to_rgb.8.conv.weight_orig"), (V{3, 16, 1, 1}));
  EXPECT_EQ(shape(*g, "style.1.linear.weight_orig"), (V{512, 512}));
  EXPECT_EQ(shape(*g, "style.15.linear.bias"), (V{512}));
  EXPECT_EQ(shape(*d, "progression.0.conv1.0.conv.weight_orig"), (V{32, 16, 3, 3}));
  EXPECT_EQ(shape(*d, "progression.0.conv2.0.weight"), (V{32, 1, 3, 3}));
  EXPECT_EQ(shape(*d, "progression.3.conv2.1.weight"), (V{256, 256, 3, 3}));
  EXPECT_EQ(shape(*d, "progression.4.conv2.1.conv.weight_orig"), (V{512, 512, 3, 3}));
  EXPECT_EQ(shape(*d, "progression.8.conv1.0.conv.weight_orig"), (V{512, 513, 3, 3}));
  EXPECT_EQ(shape(*d, "progression.8.conv2.0.conv.weight_orig"), (V{512, 512, 4, 4}));
  EXPECT_EQ(shape(*d, "from_rgb.0.0.conv.weight_orig"), (V{16, 3, 1, 1}));
  EXPECT_EQ(shape(*d, "from_rgb.8.0.conv.bias"), (V{512}));
  EXPECT_EQ(shape(*d, "linear.linear.weight_orig"), (V{1, 512}));
  // equal_lr leaves `bias` before `weight_orig` in every module.
  auto keys = g->named_parameters().keys();
  auto at = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) - keys.begin(); };
  EXPECT_LT(at("generator.progression.0.adain1.style.linear.bias"),
            at("generator.progression.0.adain1.style.linear.weight_orig"));
  EXPECT_EQ(keys.size(), g->parameters().size());
}

TEST(Model, OutputShapesAtEveryStepAndAlpha) {
  torch::manual_seed(1);
  StyleGanConfig c = tiny_config(64);
  StyledGenerator g(c);
  Discriminator d(c);
  for (int step = 0; step <= c.steps(); ++step)
    for (double alpha : {0.0, 0.5, 1.0}) {
      auto image = g->forward(torch::randn({2, c.style_dim}), step, alpha);
      EXPECT_EQ(image.sizes(), (std::vector<int64_t>{2, 1, 4 << step, 4 << step})) << step << " " << alpha;
      auto score = d->forward(image, step, alpha);
      EXPECT_EQ(score.sizes(), (std::vector<int64_t>{2, 1}));
      EXPECT_TRUE(torch::isfinite(score).all().item<bool>());
    }
  EXPECT_THROW(g->forward(torch::randn({1, c.style_dim}), c.steps() + 1, 1.0), std::invalid_argument);
}

TEST(Layers, EqualisedLearningRateScale) {
  torch::manual_seed(2);
  EqualConv2d conv(3, 8, 3, 1);
  auto x = torch::randn({2, 3, 5, 5});
  auto expected = F::conv2d(x, conv->conv->weight_orig * std::sqrt(2.0 / 27.0),
                            F::Conv2dFuncOptions().bias(conv->conv->bias).padding(1));
  EXPECT_TRUE(torch::allclose(conv->forward(x), expected));
  EqualLinear linear(10, 4);
  EXPECT_DOUBLE_EQ(linear->linear->scale, std::sqrt(2.0 / 10.0));
  NoiseInjection noise(32);
  EXPECT_DOUBLE_EQ(noise->scale, std::sqrt(2.0 / 32.0));
  // Stored weights are N(0, 1): the scale is applied at run time.
  EqualConv2d big(64, 64, 3, 1);
  EXPECT_NEAR(big->conv->weight_orig.std().item<double>(), 1.0, 0.02);
}

// The hand-written backward and double backward of the blur equal those
// of the native depthwise convolution (in double).
TEST(Layers, BlurGradientsMatchTheNativeConvolution) {
  Blur blur(3);
  blur->to(torch::kDouble);
  auto x = torch::randn({2, 3, 6, 6}, torch::kDouble).requires_grad_(true);
  auto native = [&](const torch::Tensor& in) {
    return torch::nn::functional::conv2d(in, blur->weight,
                                         torch::nn::functional::Conv2dFuncOptions().padding(1).groups(3));
  };
  auto probe = torch::randn({2, 3, 6, 6}, torch::kDouble);
  // A penalty-like loss: the squared gradient of a weighted sum, differentiated again.
  auto second_order = [&](const std::function<torch::Tensor(const torch::Tensor&)>& f) {
    auto g = torch::autograd::grad({(f(x).sin() * probe).sum()}, {x}, {}, true, true)[0];
    return torch::autograd::grad({g.square().sum()}, {x})[0];
  };
  EXPECT_TRUE(torch::allclose(blur->forward(x), native(x)));
  EXPECT_TRUE(torch::allclose(second_order([&](const torch::Tensor& in) { return blur->forward(in); }),
                              second_order(native), 1e-10, 1e-12));
}

TEST(Layers, StrideOneConvolutionMatchesTheNativeOneToSecondOrder) {
  struct Case {
    int64_t kernel, padding, size;
    bool bias;
  };
  for (const Case& c : {Case{3, 1, 5, false}, Case{3, 1, 5, true}, Case{4, 0, 4, true}, Case{1, 0, 3, false}}) {
    SCOPED_TRACE("kernel " + std::to_string(c.kernel) + (c.bias ? ", bias" : ""));
    auto x = torch::randn({2, 3, c.size, c.size}, torch::kDouble).requires_grad_(true);
    auto w = torch::randn({4, 3, c.kernel, c.kernel}, torch::kDouble).requires_grad_(true);
    auto b = torch::randn({4}, torch::kDouble).requires_grad_(true);
    const torch::Tensor bias = c.bias ? b : torch::Tensor();
    std::vector<torch::Tensor> inputs = {x, w};
    if (c.bias) inputs.push_back(b);
    auto native = [&](const torch::Tensor& in, const torch::Tensor& weight) {
      return torch::nn::functional::conv2d(
          in, weight, torch::nn::functional::Conv2dFuncOptions().padding(c.padding).bias(bias));
    };
    auto ours = [&](const torch::Tensor& in, const torch::Tensor& weight) {
      return stride_one_conv2d(in, weight, c.padding, bias);
    };
    const int64_t out = c.size + 2 * c.padding - c.kernel + 1;
    auto probe = torch::randn({2, 4, out, out}, torch::kDouble);
    using Conv = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;
    // First-order gradients, then a penalty on them differentiated again,
    // once through the input gradient alone (as the gradient penalty) and
    // once through all of them.
    auto derivatives = [&](const Conv& conv) {
      auto loss = (conv(x, w).sin() * probe).sum();
      auto first = torch::autograd::grad({loss}, inputs, {}, true, true);
      auto from_input = torch::autograd::grad({first[0].square().sum()}, inputs, {}, true, false,
                                              /*allow_unused=*/true);
      auto penalty = first[0].square().sum() + first[1].pow(3).sum();
      if (c.bias) penalty = penalty + first[2].pow(3).sum();
      auto from_all = torch::autograd::grad({penalty}, inputs);
      std::vector<torch::Tensor> all = first;
      for (const auto& set : {from_input, from_all})
        for (const auto& g : set) all.push_back(g.defined() ? g : torch::zeros({1}, torch::kDouble));
      return all;
    };
    EXPECT_TRUE(torch::allclose(ours(x, w), native(x, w), 1e-12, 1e-12));
    auto expected = derivatives(native), got = derivatives(ours);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::allclose(got[i], expected[i], 1e-10, 1e-12)) << "derivative " << i;
  }
}

TEST(Layers, UpsampledAndPooledConvolutionsMatchTheirDefinitions) {
  torch::manual_seed(21);
  EqualConvParams conv(3, 4, 3, 1);
  conv->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    conv->bias.normal_();
  }
  namespace F = torch::nn::functional;
  auto upsampled = [&](const torch::Tensor& x) {
    return conv->forward(F::interpolate(
        x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)));
  };
  auto pooled = [&](const torch::Tensor& x) { return F::avg_pool2d(conv->forward(x), F::AvgPool2dFuncOptions(2)); };
  using Layer = std::function<torch::Tensor(const torch::Tensor&)>;
  struct Case {
    const char* name;
    Layer fast, definition;
    int64_t size;
  };
  // Sizes on both sides of the size where the layers switch to the split.
  auto fast_upsampled = [&](const torch::Tensor& x) { return conv->forward_upsampled(x); };
  auto fast_pooled = [&](const torch::Tensor& x) { return conv->forward_pooled(x); };
  for (const Case& c : {Case{"upsampled", fast_upsampled, upsampled, 9}, Case{"upsampled", fast_upsampled, upsampled, 4},
                        Case{"pooled", fast_pooled, pooled, 18}, Case{"pooled", fast_pooled, pooled, 6}}) {
    SCOPED_TRACE(c.name);
    auto x = torch::randn({2, 3, c.size, c.size}, torch::kDouble).requires_grad_(true);
    auto probe = torch::randn_like(c.definition(x));
    // Output, then a gradient-penalty-like second derivative for x and the weights.
    auto derivatives = [&](const Layer& layer) {
      auto out = layer(x);
      auto gx = torch::autograd::grad({(out.sin() * probe).sum()}, {x}, {}, true, true)[0];
      auto second = torch::autograd::grad({gx.square().sum()}, {x, conv->weight_orig, conv->bias}, {}, false, false,
                                          /*allow_unused=*/true);
      return std::vector<torch::Tensor>{out, gx, second[0], second[1]};
    };
    auto expected = derivatives(c.definition), got = derivatives(c.fast);
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::allclose(got[i], expected[i], 1e-10, 1e-12)) << "derivative " << i;
  }
}

TEST(Layers, BlurKernelIsTheBinomialOverSixteen) {
  Blur blur(2);
  auto expected = torch::tensor({1.f, 2.f, 1.f, 2.f, 4.f, 2.f, 1.f, 2.f, 1.f}).view({3, 3}) / 16;
  EXPECT_TRUE(torch::equal(blur->weight[0][0], expected));
  EXPECT_TRUE(torch::equal(blur->weight, blur->weight_flip));
  auto impulse = torch::zeros({1, 2, 5, 5});
  impulse.index_put_({0, 1, 2, 2}, 1.0);
  auto out = blur->forward(impulse);
  EXPECT_TRUE(torch::allclose(out[0][1].slice(0, 1, 4).slice(1, 1, 4), expected));
  EXPECT_FLOAT_EQ(out.sum().item<float>(), 1.f);
  EXPECT_FLOAT_EQ(out[0][0].abs().sum().item<float>(), 0.f);
}

TEST(Layers, AdaptiveInstanceNormSetsPerChannelStatistics) {
  torch::manual_seed(3);
  AdaptiveInstanceNorm adain(4, 8);
  auto x = torch::randn({2, 4, 32, 32}) * 5 + 3;
  auto w = torch::randn({2, 8});
  auto out = adain->forward(x, w);
  auto s = adain->style->forward(w);
  auto gamma = s.narrow(1, 0, 4), beta = s.narrow(1, 4, 4);
  auto mean = out.mean({2, 3});
  auto stddev = out.std({2, 3}, /*unbiased=*/false);
  EXPECT_TRUE(torch::allclose(mean, beta, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(stddev, gamma.abs(), 1e-3, 1e-3));
}

// AdaIN runs as one batch norm whose affine weight and bias are the styles;
// it equals the reference's gamma * instance_norm(x) + beta to second order
// (the gradient penalty differentiates it twice), in double.
TEST(Layers, AdaptiveInstanceNormMatchesGammaTimesInstanceNormPlusBetaToSecondOrder) {
  torch::manual_seed(8);
  AdaptiveInstanceNorm adain(3, 5);
  adain->to(torch::kDouble);
  auto x = (torch::randn({2, 3, 6, 6}, torch::kDouble) * 3 + 1).requires_grad_(true);
  auto w = torch::randn({2, 5}, torch::kDouble).requires_grad_(true);
  auto reference = [&](const torch::Tensor& in, const torch::Tensor& style) {
    auto s = adain->style->forward(style).unsqueeze(2).unsqueeze(3);
    return s.narrow(1, 0, 3) * F::instance_norm(in, F::InstanceNormFuncOptions().eps(1e-5)) + s.narrow(1, 3, 3);
  };
  auto probe = torch::randn({2, 3, 6, 6}, torch::kDouble);
  auto second_order = [&](const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& f) {
    auto g = torch::autograd::grad({(f(x, w).sin() * probe).sum()}, {x}, {}, true, true)[0];
    const auto weight = adain->style->linear->weight_orig;
    return torch::autograd::grad({g.square().sum()}, {x, w, weight});
  };
  auto forward = [&](const torch::Tensor& in, const torch::Tensor& style) { return adain->forward(in, style); };
  EXPECT_TRUE(torch::allclose(forward(x, w), reference(x, w), 1e-10, 1e-12));
  const auto ours = second_order(forward), theirs = second_order(reference);
  for (size_t i = 0; i < ours.size(); ++i) EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-8, 1e-10)) << i;
}

TEST(Layers, NoiseInjectionAddsScaledNoise) {
  torch::manual_seed(10);
  NoiseInjection inject(4);
  {
    torch::NoGradGuard no_grad;
    inject->weight_orig.normal_();
  }
  auto x = torch::randn({2, 4, 5, 5}), noise = torch::randn({2, 1, 5, 5});
  EXPECT_TRUE(torch::allclose(inject->forward(x, noise), x + inject->weight_orig * inject->scale * noise));
}

// Under bf16 autocast the activations stay bf16 from layer to layer: a
// float32 bias or noise weight would promote every elementwise step after
// it to float32 (twice the memory traffic, and a cast at every convolution).
TEST(Layers, Bf16AutocastKeepsActivationsInBf16) {
  torch::manual_seed(11);
  StyleGanConfig c = tiny_config(32);
  StyledGenerator g(c);
  Discriminator d(c);
  EqualConv2d conv(16, 16, 3, 1);
  NoiseInjection inject(16);
  AdaptiveInstanceNorm adain(16, 16);
  AutocastScope autocast(torch::kCPU, Precision::Bf16);
  const auto x = torch::randn({2, 16, 16, 16});
  const auto x_bf16 = x.to(torch::kBFloat16);
  EXPECT_EQ(conv->forward(x).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(conv->conv->forward_upsampled(x).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(conv->conv->forward_pooled(x).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(inject->forward(x_bf16, torch::randn({2, 1, 16, 16})).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(adain->forward(x_bf16, torch::randn({2, 16})).scalar_type(), torch::kBFloat16);
  const auto image = g->forward(torch::randn({2, 16}), 3, 0.5);
  EXPECT_EQ(image.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(d->forward(image, 3, 0.5).scalar_type(), torch::kBFloat16);
}

TEST(Layers, FusedUpsampleIsAQuarterOfNearestPlusConv) {
  torch::manual_seed(4);
  FusedUpsample up(3, 5);
  auto x = torch::randn({1, 3, 6, 6});
  // The transposed-conv weight [in, out, k, k] as a conv weight [out, in, k, k].
  auto w = up->weight.transpose(0, 1).flip({2, 3}) * up->multiplier;
  auto nearest = F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  auto reference = F::conv2d(nearest, w, F::Conv2dFuncOptions().padding(1));
  auto fused = up->forward(x) - up->bias.view({1, -1, 1, 1});
  ASSERT_EQ(fused.sizes(), (std::vector<int64_t>{1, 5, 12, 12}));
  EXPECT_TRUE(torch::allclose(fused, reference / 4, 1e-4, 1e-5));
}

TEST(Model, MixingSwitchesLatentsAtTheCrossover) {
  torch::manual_seed(5);
  StyleGanConfig c = tiny_config(32);
  StyledGenerator g(c);
  // Noise strengths start at zero; give them weight so noise matters too.
  for (auto& p : g->named_parameters())
    if (p.key().find("noise") != std::string::npos) p.value().data().fill_(1.0);
  const int step = 3;
  std::vector<torch::Tensor> noise;
  for (int i = 0; i <= step; ++i) noise.push_back(torch::randn({2, 1, 4 << i, 4 << i}));
  auto z1 = torch::randn({2, c.style_dim}), z2 = torch::randn({2, c.style_dim}), z3 = torch::randn({2, c.style_dim});
  auto run = [&](std::vector<torch::Tensor> z, int crossover) {
    GenerateOptions o;
    o.noise = noise;
    o.crossover = crossover;
    return g->forward(z, step, 1.0, o);
  };
  auto plain = run({z1}, -1);
  // A crossover after the last block never uses the second latent (equal up
  // to rounding: both latents go through the mapping network as one batch,
  // a matrix product's rounding depends on its row count, and the instance
  // norms magnify it).
  EXPECT_TRUE(torch::allclose(run({z1, z2}, step), plain, 1e-4, 1e-5));  // measured: 9e-6 at worst, images up to 7.7
  for (int crossover = 0; crossover < step; ++crossover) {
    auto mixed = run({z1, z2}, crossover);
    EXPECT_FALSE(torch::allclose(mixed, plain)) << crossover;
    EXPECT_FALSE(torch::allclose(mixed, run({z2}, -1))) << crossover;
    EXPECT_FALSE(torch::allclose(mixed, run({z1, z3}, crossover))) << crossover;  // fine blocks follow z2
    GenerateOptions range;
    range.noise = noise;
    range.mixing_range = std::make_pair(crossover + 1, step);
    EXPECT_TRUE(torch::equal(mixed, g->forward({z1, z2}, step, 1.0, range))) << crossover;
  }
  // Coarse styles from the second latent only in blocks 0-1 (sg_test's grid).
  GenerateOptions coarse;
  coarse.noise = noise;
  coarse.mixing_range = std::make_pair(0, 1);
  auto coarse_mix = g->forward({z1, z2}, step, 1.0, coarse);
  EXPECT_TRUE(torch::equal(coarse_mix, run({z2, z1}, 1)));
}

TEST(Model, DeterministicUnderAFixedSeed) {
  auto sample = [] {
    torch::manual_seed(42);
    StyledGenerator g(tiny_config(16));
    Discriminator d(tiny_config(16));
    auto image = g->forward(torch::randn({3, 16}), 2, 0.3);
    return std::make_pair(image, d->forward(image, 2, 0.3));
  };
  auto a = sample(), b = sample();
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_TRUE(torch::equal(a.second, b.second));
}

TEST(Losses, GradientPenaltyMatchesFiniteDifferences) {
  torch::manual_seed(6);
  StyleGanConfig c = tiny_config(8);
  c.max_channels = 4;
  Discriminator d(c);
  d->to(torch::kDouble);
  Critic critic = [&](const torch::Tensor& x) { return d->forward(x, 1, 0.5); };
  auto x = torch::randn({3, 1, 8, 8}, torch::kDouble);

  // 1. The input gradient inside the penalty, against central differences.
  auto input = x.clone().requires_grad_(true);
  auto grad = torch::autograd::grad({critic(input).sum()}, {input})[0];
  const double h = 1e-6;
  for (int64_t i : {0, 17, 64, 130, 191}) {
    auto plus = x.clone(), minus = x.clone();
    plus.view(-1)[i] += h;
    minus.view(-1)[i] -= h;
    double numeric = (critic(plus).sum().item<double>() - critic(minus).sum().item<double>()) / (2 * h);
    EXPECT_NEAR(grad.view(-1)[i].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << i;
  }

  // 2. The penalty's gradient with respect to D's weights (the double
  // backward), against central differences of the penalty itself.
  d->zero_grad();
  gradient_penalty(critic, x).backward();
  for (const auto& key : {"progression.8.conv1.0.conv.weight_orig", "from_rgb.7.0.conv.weight_orig",
                          "linear.linear.weight_orig"}) {
    torch::Tensor p = d->named_parameters()[key];
    for (int64_t i : {int64_t{0}, p.numel() - 1}) {
      double analytic = p.grad().view(-1)[i].item<double>();
      torch::NoGradGuard no_grad;
      double original = p.view(-1)[i].item<double>();
      auto penalty_at = [&](double value) {
        p.view(-1)[i].fill_(value);
        torch::AutoGradMode enable(true);
        return gradient_penalty(critic, x).item<double>();
      };
      double numeric = (penalty_at(original + h) - penalty_at(original - h)) / (2 * h);
      p.view(-1)[i].fill_(original);
      EXPECT_NEAR(analytic, numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << key << "[" << i << "]";
    }
  }
}

TEST(Precision, FromTheFlagElseByDevice) {
  EXPECT_EQ(resolve_precision("", "cuda"), Precision::Bf16);
  EXPECT_EQ(resolve_precision("", "cpu"), Precision::Fp32);
  EXPECT_EQ(resolve_precision("tf32", "cpu"), Precision::Tf32);
  EXPECT_EQ(resolve_precision("fp32", "cuda"), Precision::Fp32);
  EXPECT_THROW(resolve_precision("fp16", "cuda"), std::invalid_argument);
}

// Every parameter's gradient as one float vector on the CPU (a copy; zeros
// where a parameter has none).
torch::Tensor flat_gradient(torch::nn::Module& module) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : module.parameters())
    parts.push_back(p.grad().defined() ? p.grad().flatten().to(torch::kFloat)
                                       : torch::zeros({p.numel()}, p.options().dtype(torch::kFloat)));
  return torch::cat(parts).cpu();
}

// bf16 autocast runs D's forward passes in bfloat16, the penalty's double
// backward in the recorded mixed graph, everything after in fp32. On the
// same batch and interpolation draw: the penalty within 1% and the
// discriminator's gradient pointing the same way (cosine > 0.995).
// Measured on the CPU: penalty 7.8973 vs 7.9138, cosine 0.9997.
void expect_bf16_penalty_close_to_fp32(const torch::Device& device) {
  StyleGanConfig c;
  c.max_size = 16;
  c.max_channels = 64;
  torch::manual_seed(5);
  Discriminator d(c);
  StyledGenerator g(c);
  const auto real = torch::rand({8, 3, 16, 16}) * 2 - 1;
  torch::Tensor fake;
  {
    torch::NoGradGuard no_grad;
    fake = g->forward(torch::randn({8, 512}), 2, 1.0);
  }
  d->to(device);
  auto run = [&](Precision precision) {
    StepSettings settings;
    settings.step = 2;
    settings.precision = precision;
    apply_float32_math(precision);
    d->zero_grad();
    torch::manual_seed(9);  // the same interpolation weights
    const auto eps = torch::rand({8, 1, 1, 1}).to(device);
    auto loss = wgan_gp_discriminator_loss(make_critic(d, settings, device), real.to(device), fake.to(device), 10.0,
                                           0.001, eps);
    loss.total.backward();
    return std::make_pair(loss, flat_gradient(*d));
  };
  const auto [fp32, fp32_grad] = run(Precision::Fp32);
  const auto [bf16, bf16_grad] = run(Precision::Bf16);
  apply_float32_math(Precision::Fp32);
  const double penalty = fp32.penalty.item<double>();
  const double cosine = torch::cosine_similarity(fp32_grad, bf16_grad, 0).item<double>();
  std::cout << device << ": penalty fp32 " << penalty << " bf16 " << bf16.penalty.item<double>() << ", gradient cosine "
            << cosine << "\n";
  EXPECT_GT(penalty, 0.1);
  EXPECT_NEAR(bf16.penalty.item<double>(), penalty, 0.01 * penalty);
  EXPECT_NEAR(bf16.total.item<double>(), fp32.total.item<double>(), 0.01 * std::abs(fp32.total.item<double>()) + 0.01);
  EXPECT_GT(cosine, 0.995);
  EXPECT_EQ(bf16.total.scalar_type(), torch::kFloat);
}

// The G step's side: G and D forward in bf16 (AdaIN, noise and biases in
// bf16 too), gradients back into fp32 weights. Against fp32 on the same
// latents and noise, with mixing: the loss within 2% and G's gradient
// pointing the same way, cosine > 0.97. Measured on the CPU: loss -0.8657
// vs -0.8594, cosine 0.9777 (0.9775 while the elementwise steps still ran
// in fp32); per tensor the coarse blocks' biases are furthest off (0.93),
// their gradients having come back through every bf16 layer.
void expect_bf16_generator_gradient_close_to_fp32(const torch::Device& device) {
  StyleGanConfig c;
  c.max_size = 32;
  c.max_channels = 64;
  torch::manual_seed(13);
  StyledGenerator g(c);
  Discriminator d(c);
  for (auto& p : g->named_parameters())  // noise strengths start at zero
    if (p.key().find("noise") != std::string::npos) p.value().data().normal_(0, 0.3);
  g->to(device);
  d->to(device);
  const std::vector<torch::Tensor> z{torch::randn({8, 512}).to(device), torch::randn({8, 512}).to(device)};
  GenerateOptions o;
  o.crossover = 1;
  for (int i = 0; i <= 3; ++i) o.noise.push_back(torch::randn({8, 1, 4 << i, 4 << i}).to(device));
  auto run = [&](Precision precision) {
    StepSettings settings;
    settings.step = 3;
    settings.precision = precision;
    apply_float32_math(precision);
    g->zero_grad();
    torch::Tensor image;
    {
      AutocastScope autocast(device, precision);
      image = g->forward(z, 3, 1.0, o).to(torch::kFloat);
    }
    auto loss = wgan_generator_loss(make_critic(d, settings, device)(image));
    loss.backward();
    return std::make_pair(loss.item<double>(), flat_gradient(*g));
  };
  const auto [fp32, fp32_grad] = run(Precision::Fp32);
  const auto [bf16, bf16_grad] = run(Precision::Bf16);
  apply_float32_math(Precision::Fp32);
  const double cosine = torch::cosine_similarity(fp32_grad, bf16_grad, 0).item<double>();
  std::cout << device << ": G loss fp32 " << fp32 << " bf16 " << bf16 << ", gradient cosine " << cosine << "\n";
  EXPECT_NEAR(bf16, fp32, 0.02 * std::abs(fp32) + 1e-3);
  EXPECT_GT(cosine, 0.97);
}

TEST(Losses, Bf16GeneratorGradientStaysCloseToFp32) { expect_bf16_generator_gradient_close_to_fp32(torch::kCPU); }

TEST(Losses, Bf16GeneratorGradientStaysCloseToFp32OnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here: the CUDA bf16 G step is checked where one is";
  expect_bf16_generator_gradient_close_to_fp32(torch::kCUDA);
}

TEST(Losses, Bf16GradientPenaltyStaysCloseToFp32OnTheSameBatch) { expect_bf16_penalty_close_to_fp32(torch::kCPU); }

TEST(Losses, Bf16GradientPenaltyStaysCloseToFp32OnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here: the CUDA bf16 penalty is checked where one is";
  expect_bf16_penalty_close_to_fp32(torch::kCUDA);
}

// Everything one training step leaves behind, on the CPU: the three losses,
// then every parameter and gradient of G and D and the EMA's parameters.
std::vector<std::pair<std::string, torch::Tensor>> step_results(const torch::Device& device) {
  StyleGanConfig c;
  c.max_size = 32;
  c.max_channels = 64;
  c.style_dim = 64;
  torch::manual_seed(3);
  // Learning rate 0: Adam's first steps move every weight by about +-lr
  // whatever the gradient's size, so a gradient within rounding of zero
  // would move a weight by 2 lr between devices and the next pass would
  // compare different models. Adam is the same ATen arithmetic on both.
  StepModels m = make_step_models(c, 0.0, device);
  const auto real = (torch::rand({8, 3, 32, 32}) * 2 - 1).to(device);
  std::mt19937_64 rng(4);
  StepSettings s;
  s.step = 3;
  s.alpha = 0.5;
  s.mixing = true;
  s.mixing_probability = 1.0;
  s.host_randoms = true;
  s.precision = Precision::Fp32;
  torch::manual_seed(5);
  StepStats stats;
  for (int i = 0; i < 2; ++i) stats = train_step(m, real, s, rng);  // the second with Adam's state
  std::vector<std::pair<std::string, torch::Tensor>> out{
      {"d_loss", stats.d_loss.cpu()}, {"g_loss", stats.g_loss.cpu()}, {"penalty", stats.penalty.cpu()}};
  auto add = [&](const std::string& prefix, torch::nn::Module& module, bool gradients) {
    for (const auto& p : module.named_parameters()) {
      out.emplace_back(prefix + p.key(), p.value().detach().cpu());
      if (gradients && p.value().grad().defined()) out.emplace_back(prefix + p.key() + ".grad", p.value().grad().cpu());
    }
  };
  add("G.", *m.generator, true);
  add("D.", *m.discriminator, true);
  add("EMA.", *m.ema, false);
  return out;
}

// bench_train --op-profile: operators counted with their nesting, and
// nothing once stopped.
TEST(OpProfile, CountsOperatorsUntilStopped) {
  const auto a = torch::randn({64, 64}), b = torch::randn({64, 64});
  OpProfile profile;
  for (int i = 0; i < 3; ++i) torch::mm(a, b);
  torch::conv2d(torch::randn({1, 2, 8, 8}), torch::randn({3, 2, 3, 3}));
  profile.stop();
  torch::mm(a, b);
  auto find = [&](const std::string& name) {
    for (const auto& e : profile.entries())
      if (e.name == name) return e;
    return OpProfileEntry{};
  };
  EXPECT_EQ(find("aten::mm").calls, 3);
  EXPECT_EQ(find("aten::mm").top_level_calls, 3);
  EXPECT_EQ(find("aten::conv2d").top_level_calls, 1);
  EXPECT_GE(find("aten::convolution").calls, 1);
  EXPECT_EQ(find("aten::convolution").top_level_calls, 0);  // inside conv2d
  EXPECT_GT(find("aten::mm").host_ms, 0);
  EXPECT_GE(profile.top_level_calls(), 4 + 2);  // mm x3, randn x2, conv2d
  EXPECT_GT(profile.top_level_host_ms(), 0);
}

// --r1_gamma reaches the step: the R1 term scales with it (0 turns it off).
TEST(TrainStep, R1GammaScalesThePenalty) {
  auto penalty = [](double gamma) {
    torch::manual_seed(4);
    StepModels m = make_step_models(tiny_config(8), 0.001, torch::kCPU);
    StepSettings s;
    s.step = 1;
    s.loss = GanLoss::R1;
    s.r1_gamma = gamma;
    std::mt19937_64 rng(1);
    return train_step(m, torch::rand({4, 1, 8, 8}) * 2 - 1, s, rng).penalty.item<double>();
  };
  const double ten = penalty(10), tenth = penalty(0.1);
  EXPECT_GT(ten, 0);
  EXPECT_NEAR(tenth, ten / 100, 1e-6 * ten);
  EXPECT_EQ(penalty(0), 0);
}

// With host_randoms every random draw of the step comes from the CPU
// generator: two runs from the same seeds leave the same weights.
TEST(TrainStep, HostRandomsMakeTheStepDependOnTheSeedsAlone) {
  const auto first = step_results(torch::kCPU);
  const auto second = step_results(torch::kCPU);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(torch::equal(first[i].second, second[i].second)) << first[i].first;
  EXPECT_GT(first[0].second.abs().item<double>(), 0);
}

// --precision fp32 on CUDA computes the CPU's step: the same initial
// weights, batch and seed (latents, noise and penalty weights from the CPU
// generator, host_randoms), TF32 off, two steps (the second with Adam's
// state and the EMA). cuDNN and oneDNN sum in different orders, so each
// tensor is compared by its relative L2 error: losses and parameters
// within 1e-4, gradients within 5e-3 (measured on an H100: values 1.1e-7,
// gradients 1.1e-3 at worst, a convolution bias's gradient, a sum over the
// batch and pixels with much cancellation).
TEST(CudaStep, Fp32StepMatchesTheCpuStepOnTheSameBatchAndSeed) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here: the CUDA step is compared where one is";
  const auto cpu = step_results(torch::kCPU);
  const auto cuda = step_results(torch::kCUDA);
  ASSERT_EQ(cpu.size(), cuda.size());
  double worst_value = 0, worst_gradient = 0;
  std::string worst_value_name, worst_gradient_name;
  for (size_t i = 0; i < cpu.size(); ++i) {
    ASSERT_EQ(cpu[i].first, cuda[i].first);
    const auto& a = cpu[i].second;
    const auto& b = cuda[i].second;
    ASSERT_TRUE(b.isfinite().all().item<bool>()) << cpu[i].first;
    const double error = (a - b).norm().item<double>() / std::max(a.norm().item<double>(), 1e-6);
    const bool gradient = cpu[i].first.size() > 5 && cpu[i].first.substr(cpu[i].first.size() - 5) == ".grad";
    EXPECT_LE(error, gradient ? 5e-3 : 1e-4) << cpu[i].first;
    double& worst = gradient ? worst_gradient : worst_value;
    if (error > worst) {
      worst = error;
      (gradient ? worst_gradient_name : worst_value_name) = cpu[i].first;
    }
  }
  std::cout << "worst relative error: values " << worst_value << " (" << worst_value_name << "), gradients "
            << worst_gradient << " (" << worst_gradient_name << ")\n";
}

TEST(Losses, R1PenaltyIsHalfGammaTimesSquaredGradientNorm) {
  torch::manual_seed(7);
  Discriminator d(tiny_config(8));
  Critic critic = [&](const torch::Tensor& x) { return d->forward(x, 1, 1.0); };
  auto real = torch::randn({4, 1, 8, 8}), fake = torch::randn({4, 1, 8, 8});
  auto loss = r1_discriminator_loss(critic, real, fake, 10.0);
  auto input = real.clone().requires_grad_(true);
  auto grad = torch::autograd::grad({critic(input).sum()}, {input})[0];
  EXPECT_NEAR(loss.penalty.item<double>(), 5.0 * grad.pow(2).sum({1, 2, 3}).mean().item<double>(), 1e-4);
}

// The multi-tensor step is torch::optim::Adam's step, bit for bit on a CPU:
// two groups at different rates, one with weight decay, a parameter left
// without a gradient in some steps (its own step count), and a step by
// torch's Adam in between on the state ours wrote.
TEST(Optimiser, MultiTensorAdamStepIsTorchAdamsStep) {
  torch::manual_seed(12);
  auto make_params = [] {
    std::vector<torch::Tensor> p;
    for (auto shape : std::vector<std::vector<int64_t>>{{4, 3, 3, 3}, {4}, {5, 7}, {7}})
      p.push_back(torch::randn(shape).requires_grad_(true));
    return p;
  };
  const auto initial = make_params();
  auto copy = [&] {
    std::vector<torch::Tensor> p;
    for (const auto& t : initial) p.push_back(t.detach().clone().requires_grad_(true));
    return p;
  };
  auto make_adam = [](const std::vector<torch::Tensor>& p) {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<torch::Tensor>{p[0], p[1]},
                        std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(1e-2).betas({0.0, 0.99})));
    groups.emplace_back(std::vector<torch::Tensor>{p[2], p[3]},
                        std::make_unique<torch::optim::AdamOptions>(
                            torch::optim::AdamOptions(3e-3).betas({0.5, 0.9}).weight_decay(0.1)));
    return torch::optim::Adam(std::move(groups));
  };
  auto theirs = copy(), ours = copy();
  auto their_adam = make_adam(theirs), our_adam = make_adam(ours);
  for (int step = 0; step < 5; ++step) {
    for (size_t i = 0; i < initial.size(); ++i) {
      const bool skipped = i == 1 && (step == 1 || step == 2);
      const auto grad = torch::randn(initial[i].sizes());
      for (auto* params : {&theirs, &ours}) {
        if (skipped) (*params)[i].mutable_grad().reset();
        else (*params)[i].mutable_grad() = grad.clone();
      }
    }
    their_adam.step();
    if (step == 3) our_adam.step();  // torch's Adam carries on from our state
    else multi_tensor_adam_step(our_adam);
    for (size_t i = 0; i < initial.size(); ++i) ASSERT_TRUE(torch::equal(theirs[i], ours[i])) << step << " " << i;
  }
  for (size_t i = 0; i < initial.size(); ++i) EXPECT_FALSE(torch::equal(ours[i], initial[i])) << i;
  ASSERT_EQ(our_adam.state().size(), their_adam.state().size());  // no second state under another key
}

TEST(Losses, EmaUpdate) {
  torch::manual_seed(8);
  StyledGenerator a(tiny_config(8)), b(tiny_config(8));
  update_ema(*a, *b, 0.0);
  for (const auto& p : a->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), b->named_parameters()[p.key()]));
  auto before = a->named_parameters()["style.1.linear.weight_orig"].clone();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : b->parameters()) p.add_(1.0);
  }
  update_ema(*a, *b, 0.999);
  EXPECT_TRUE(torch::allclose(a->named_parameters()["style.1.linear.weight_orig"], before + 0.001, 1e-5, 1e-5));
}

// Real images: a bright square on black, with a little jitter.
torch::Tensor tiny_reals(int n) {
  auto x = torch::full({n, 1, 8, 8}, -1.0);
  x.slice(2, 2, 6).slice(3, 2, 6).fill_(0.8);
  return x + 0.05 * torch::randn_like(x);
}

// WGAN-GP steps of the critic alone against G's current fakes (step 1, 8x8).
void train_critic(StyledGenerator& g, Discriminator& d, const Critic& critic, torch::optim::Adam& opt, int steps) {
  for (int it = 0; it < steps; ++it) {
    torch::Tensor fake;
    {
      torch::NoGradGuard no_grad;
      fake = g->forward(torch::randn({16, g->config.style_dim}), 1, 1.0);
    }
    d->zero_grad();
    wgan_gp_discriminator_loss(critic, tiny_reals(16), fake).total.backward();
    opt.step();
  }
}

TEST(Training, CriticLearnsToSeparateRealFromFake) {
  torch::manual_seed(9);
  StyleGanConfig c = tiny_config(8);
  StyledGenerator g(c);
  Discriminator d(c);
  auto opt = make_discriminator_optimizer(d, 1e-3);
  Critic critic = [&](const torch::Tensor& x) { return d->forward(x, 1, 1.0); };
  auto margin = [&] {
    torch::NoGradGuard no_grad;
    torch::manual_seed(100);
    auto fake = g->forward(torch::randn({64, c.style_dim}), 1, 1.0);
    return (critic(tiny_reals(64)).mean() - critic(fake).mean()).item<double>();
  };
  const double before = margin();
  train_critic(g, d, critic, *opt, 150);
  const double after = margin();
  EXPECT_GT(after, before + 1.0) << "margin " << before << " -> " << after;
}

TEST(Training, GeneratorLossFallsAgainstAFixedCritic) {
  torch::manual_seed(10);
  StyleGanConfig c = tiny_config(8);
  StyledGenerator g(c);
  Discriminator d(c);
  auto d_opt = make_discriminator_optimizer(d, 1e-3);
  Critic critic = [&](const torch::Tensor& x) { return d->forward(x, 1, 1.0); };
  train_critic(g, d, critic, *d_opt, 100);  // a critic that knows the data
  for (auto& p : d->parameters()) p.requires_grad_(false);
  auto g_opt = make_generator_optimizer(g, 1e-3);
  torch::manual_seed(200);
  auto z_eval = torch::randn({64, c.style_dim});
  auto loss_now = [&] {
    torch::NoGradGuard no_grad;
    return wgan_generator_loss(critic(g->forward(z_eval, 1, 1.0))).item<double>();
  };
  const double before = loss_now();
  for (int it = 0; it < 150; ++it) {
    g->zero_grad();
    auto z = torch::randn({16, c.style_dim});
    // Style mixing on, as in training.
    GenerateOptions o;
    o.crossover = 0;
    wgan_generator_loss(critic(g->forward({z, torch::randn_like(z)}, 1, 1.0, o))).backward();
    g_opt->step();
  }
  const double after = loss_now();
  EXPECT_LT(after, before - 1.0) << "generator loss " << before << " -> " << after;
}


TEST(Ema, EachBlockRampsUpFromItsOwnImagesToTheReferenceDecay) {
  const EmaOptions ramp;  // decay 0.999, rampup 0.05
  const auto d = block_ema_decays(ramp, {16, 0, 3200, uint64_t{16} * 1000000}, 16);
  EXPECT_NEAR(d[0], std::pow(0.5, 16 / (0.05 * 16)), 1e-12);  // a new block: all but a copy
  EXPECT_EQ(d[1], 1.0);                                          // not trained yet: left alone
  EXPECT_NEAR(d[2], std::pow(0.5, 16 / (0.05 * 3200)), 1e-12);   // half-life 160 images = 10 steps
  EXPECT_EQ(d[3], 0.999);                                        // long trained: the reference's
  double previous = 0;
  for (uint64_t images = 16; images < 2000000; images *= 2) {
    const double decay = block_ema_decays(ramp, {images}, 16)[0];
    EXPECT_GE(decay, previous);
    EXPECT_LE(decay, 0.999);
    previous = decay;
  }
  EmaOptions reference;
  reference.rampup = 0;
  EXPECT_EQ(block_ema_decays(reference, {16, 0, 3200}, 16), (std::vector<double>{0.999, 1.0, 0.999}));
}

TEST(Ema, ParametersBelongToTheirBlockByName) {
  EXPECT_EQ(generator_block_of("style.3.linear.weight_orig"), 0);
  EXPECT_EQ(generator_block_of("generator.progression.0.conv1.input"), 0);
  EXPECT_EQ(generator_block_of("generator.progression.3.conv2.conv.bias"), 3);
  EXPECT_EQ(generator_block_of("generator.to_rgb.12.conv.weight_orig"), 12);
  EXPECT_EQ(generator_block_of("generator.progression.x.conv"), -1);
  EXPECT_EQ(generator_block_of("linear.linear.bias"), -1);
  StyledGenerator g(tiny_config(16));
  for (const auto& p : g->named_parameters()) {
    const int block = generator_block_of(p.key());
    EXPECT_TRUE(block >= 0 && block <= 2) << p.key();
  }
}

TEST(Ema, PerBlockUpdateEqualsTheFixedOneAndLeavesUntrainedBlocks) {
  torch::manual_seed(3);
  StyledGenerator g(tiny_config(16)), by_block(tiny_config(16)), fixed(tiny_config(16));
  update_ema(*by_block, *g, 0.0);
  update_ema(*fixed, *g, 0.0);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : g->parameters()) p.add_(torch::randn_like(p));
  }
  update_ema_by_block(*by_block, *g, {0.9, 0.9, 1.0});
  update_ema(*fixed, *g, 0.9);
  auto moved = fixed->named_parameters();
  for (const auto& p : by_block->named_parameters()) {
    if (generator_block_of(p.key()) == 2)
      EXPECT_FALSE(torch::equal(p.value(), moved[p.key()])) << p.key();
    else
      EXPECT_TRUE(torch::equal(p.value(), moved[p.key()])) << p.key();
  }
}

TEST(FlopCounter, CountsConvolutionsBothGradientsAndMatrixProductsOnce) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({2, 3, 8, 8}).requires_grad_(true);
  const torch::Tensor w = torch::randn({4, 3, 3, 3}).requires_grad_(true);
  const double forward = 2.0 * 2 * 4 * 8 * 8 * (3 * 3 * 3);  // output elements x multiply-adds each
  {
    FlopCounter counter;
    const torch::Tensor y = torch::conv2d(x, w, {}, 1, 1);
    counter.stop();
    EXPECT_DOUBLE_EQ(counter.flops(), forward);
  }
  {
    const torch::Tensor y = torch::conv2d(x, w, {}, 1, 1);
    FlopCounter counter;
    y.sum().backward();  // the input's and the weight's gradient: a forward's worth each
    counter.stop();
    EXPECT_DOUBLE_EQ(counter.flops(), 2 * forward);
  }
  {
    const torch::Tensor y = torch::conv2d(x.detach(), w, torch::Tensor(), torch::IntArrayRef{2, 2}, torch::IntArrayRef{0, 0});  // stride 2, no padding: 3x3 output
    FlopCounter counter;
    y.sum().backward();  // the weight's gradient only
    counter.stop();
    EXPECT_DOUBLE_EQ(counter.flops(), 2.0 * 2 * 4 * 3 * 3 * 27);
  }
  FlopCounter counter;
  torch::mm(torch::randn({5, 6}), torch::randn({6, 7}));
  torch::matmul(torch::randn({3, 5, 6}), torch::randn({3, 6, 7}));  // one bmm inside, counted once
  torch::nn::functional::linear(torch::randn({5, 6}), torch::randn({7, 6}), torch::randn({7}));
  torch::relu(torch::randn({100}));  // elementwise: not counted
  counter.stop();
  EXPECT_DOUBLE_EQ(counter.flops(), 2.0 * 5 * 6 * 7 * 5);
  const double after = counter.flops();
  torch::mm(torch::randn({5, 6}), torch::randn({6, 7}));
  EXPECT_EQ(counter.flops(), after);  // stopped
}

}  // namespace
}  // namespace sg
