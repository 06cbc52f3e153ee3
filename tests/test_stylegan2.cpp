// StyleGAN2's networks against rosinality's stylegan2-pytorch (names, shapes,
// parameter counts) and its layers against their closed forms.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "model/core/adam_step.hpp"
#include "model/core/state_order.hpp"
#include "model/devices/precision.hpp"
#include "model/stylegan/networks.hpp"
#include "model/stylegan/losses.hpp"
#include "model/stylegan2/losses.hpp"
#include "model/stylegan2/networks.hpp"
#include "model/stylegan2/train_step.hpp"
#include "test_util.hpp"

namespace {

using namespace sg::stylegan2;
using sg::AutocastScope;
using sg::Precision;
using sg::stylegan::logistic_generator_loss;

struct Entry {
  std::string name, shape;
};

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream s;
  s << '[';
  for (int64_t d = 0; d < t.dim(); ++d) s << (d ? ", " : "") << t.size(d);
  s << ']';
  return s.str();
}

// tests/data/stylegan2-keys-256.txt: "## generator" and "## discriminator"
// sections of "name [shape]" lines.
std::pair<std::vector<Entry>, std::vector<Entry>> reference_keys() {
  std::ifstream in(sg::test::source_path("tests/data/stylegan2-keys-256.txt"));
  EXPECT_TRUE(in) << "missing tests/data/stylegan2-keys-256.txt";
  std::vector<Entry> g, d;
  std::vector<Entry>* section = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## generator", 0) == 0) section = &g;
    else if (line.rfind("## discriminator", 0) == 0) section = &d;
    else if (!line.empty() && line[0] != '#' && section) {
      const auto space = line.find(' ');
      section->push_back({line.substr(0, space), line.substr(space + 1)});
    }
  }
  return {g, d};
}

std::vector<Entry> our_keys(const torch::nn::Module& module) {
  std::vector<Entry> out;
  for (const auto& [name, tensor] : sg::ordered_state(module)) out.push_back({name, shape_text(tensor)});
  return out;
}

void expect_same_entries(const std::vector<Entry>& ours, const std::vector<Entry>& reference) {
  ASSERT_EQ(ours.size(), reference.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_EQ(ours[i].name, reference[i].name) << "entry " << i;
    EXPECT_EQ(ours[i].shape, reference[i].shape) << ours[i].name;
  }
}

Config reference_config(int size) {
  Config c;
  c.size = size;
  c.image_channels = 3;
  return c;
}

TEST(StyleGan2Parity, StateDictNamesShapesAndOrderAreTheReferences) {
  torch::NoGradGuard no_grad;
  Generator g(reference_config(256));
  Discriminator d(reference_config(256));
  const auto [g_reference, d_reference] = reference_keys();
  EXPECT_EQ(g_reference.size(), 135u);
  EXPECT_EQ(d_reference.size(), 50u);
  expect_same_entries(our_keys(*g), g_reference);
  expect_same_entries(our_keys(*d), d_reference);
}

TEST(StyleGan2Parity, ParameterCountsMatchTheReference) {
  torch::NoGradGuard no_grad;
  Generator g256(reference_config(256));
  Discriminator d256(reference_config(256));
  EXPECT_EQ(sg::stylegan::count_parameters(*g256), 30034338);
  EXPECT_EQ(sg::stylegan::count_parameters(*g256->style), 2101248);
  EXPECT_EQ(sg::stylegan::count_parameters(*d256), 28864129);
  Generator g1024(reference_config(1024));
  Discriminator d1024(reference_config(1024));
  EXPECT_EQ(sg::stylegan::count_parameters(*g1024), 30370060);
  EXPECT_EQ(sg::stylegan::count_parameters(*d1024), 29012513);
}

TEST(StyleGan2Config, ChannelsFollowTheMultiplierAndTheCap) {
  Config c;
  c.channel_multiplier = 1;
  EXPECT_EQ(c.channels(32), 512);
  EXPECT_EQ(c.channels(64), 256);
  EXPECT_EQ(c.channels(1024), 16);
  c.channel_multiplier = 2;
  EXPECT_EQ(c.channels(64), 512);
  EXPECT_EQ(c.channels(256), 128);
  c.max_channels = 64;
  EXPECT_EQ(c.channels(4), 64);
  EXPECT_EQ(c.channels(512), 64);
  c.size = 16;
  EXPECT_EQ(c.num_layers(), 5);
  EXPECT_EQ(c.n_latent(), 6);
  for (int bad : {4, 12, 2048}) {
    c.size = bad;
    EXPECT_THROW(c.validate(), std::invalid_argument) << bad;
  }
}

Config small_config(int size = 16, int image_channels = 1) {
  Config c;
  c.size = size;
  c.max_channels = 32;
  c.style_dim = 32;
  c.n_mlp = 2;
  c.image_channels = image_channels;
  return c;
}

// --d_channels: the discriminator's own cap widens it alone; the generator
// (what the reference's Generator loads) keeps its shapes.
TEST(StyleGan2Networks, TheDiscriminatorTakesAWidthCapOfItsOwn) {
  torch::NoGradGuard no_grad;
  const Config same = small_config();
  Config wider = small_config();
  wider.d_max_channels = 48;
  EXPECT_EQ(wider.channels(16), 32);
  EXPECT_EQ(wider.discriminator_channels(16), 48);
  EXPECT_EQ(same.discriminator_channels(16), 32);
  EXPECT_EQ(sg::stylegan::count_parameters(*Generator(wider)), sg::stylegan::count_parameters(*Generator(same)));
  Discriminator d(wider);
  bool found = false;
  for (const auto& [name, tensor] : sg::ordered_state(*d)) {
    if (name != "final_conv.0.weight") continue;
    EXPECT_EQ(shape_text(tensor), "[48, 49, 3, 3]");  // 48 + the stddev map
    found = true;
  }
  EXPECT_TRUE(found);
  EXPECT_GT(sg::stylegan::count_parameters(*d), sg::stylegan::count_parameters(*Discriminator(same)));
  EXPECT_EQ(d->forward(torch::randn({4, 1, 16, 16})).sizes(), (std::vector<int64_t>{4, 1}));
  wider.d_max_channels = -1;
  EXPECT_THROW(wider.validate(), std::invalid_argument);
}

TEST(StyleGan2Networks, GreyImagesAtTheConfiguredSizeAndOneScorePerImage) {
  torch::manual_seed(1);
  Generator g(small_config(32, 1));
  Discriminator d(small_config(32, 1));
  const torch::Tensor z = torch::randn({4, 32});
  const GeneratorOutput out = g->forward(std::vector{z});
  EXPECT_EQ(out.image.sizes(), (std::vector<int64_t>{4, 1, 32, 32}));
  EXPECT_EQ(out.latent.sizes(), (std::vector<int64_t>{4, 8, 32}));
  EXPECT_EQ(d->forward(out.image).sizes(), (std::vector<int64_t>{4, 1}));
}

TEST(StyleGan2Networks, MixingTakesTheSecondStyleFromTheInjectIndexOn) {
  torch::manual_seed(2);
  Generator g(small_config());
  const torch::Tensor z1 = torch::randn({2, 32}), z2 = torch::randn({2, 32});
  SynthesisOptions options;
  options.inject_index = 2;
  const torch::Tensor latent = g->forward(std::vector{z1, z2}, options).latent;
  const torch::Tensor w1 = g->style->forward(z1), w2 = g->style->forward(z2);
  EXPECT_TRUE(torch::allclose(latent.select(1, 1), w1));
  EXPECT_TRUE(torch::allclose(latent.select(1, 2), w2));
  EXPECT_TRUE(torch::allclose(latent.select(1, 5), w2));
  options.inject_index = 6;
  EXPECT_THROW(g->forward(std::vector{z1, z2}, options), std::invalid_argument);
}

TEST(StyleGan2Networks, FixedNoiseAndStylesGiveTheSameImage) {
  torch::manual_seed(3);
  Generator g(small_config());
  const torch::Tensor z = torch::randn({2, 32});
  SynthesisOptions options;
  for (int i = 0; i < g->config.num_layers(); ++i)
    options.noise.push_back(g->noises->named_buffers()["noise_" + std::to_string(i)]);
  // Noise strengths start at zero: give them weight so that noise matters.
  torch::NoGradGuard no_grad;
  for (auto& p : g->named_parameters())
    if (p.key().find("noise.weight") != std::string::npos) p.value().fill_(0.5);
  const torch::Tensor a = g->forward(std::vector{z}, options).image, b = g->forward(std::vector{z}, options).image;
  EXPECT_TRUE(torch::equal(a, b));
  const torch::Tensor fresh = g->forward(std::vector{z}).image;
  EXPECT_FALSE(torch::allclose(a, fresh));
}

TEST(StyleGan2Networks, TruncationOneIsTheIdentityAndZeroGivesTheMeanImage) {
  torch::manual_seed(4);
  Generator g(small_config());
  torch::NoGradGuard no_grad;
  const torch::Tensor z = torch::randn({3, 32});
  SynthesisOptions options;
  options.noise.assign(static_cast<size_t>(g->config.num_layers()), torch::zeros({1, 1, 1, 1}));
  options.truncation_latent = g->mean_latent(256);
  options.truncation = 0.0;
  const torch::Tensor images = g->forward(std::vector{z}, options).image;
  EXPECT_TRUE(torch::allclose(images[0], images[2], 1e-5, 1e-6));
  options.truncation = 1.0;
  SynthesisOptions plain;
  plain.noise = options.noise;
  EXPECT_TRUE(torch::equal(g->forward(std::vector{z}, options).image, g->forward(std::vector{z}, plain).image));
}

// upfirdn2d on a single impulse gives the kernel itself (flipped twice);
// the upsampler keeps a constant image constant away from the borders.
TEST(StyleGan2Layers, UpfirdnImpulseResponseAndConstantUpsampling) {
  const torch::Tensor kernel = make_blur_kernel();
  torch::Tensor impulse = torch::zeros({1, 1, 7, 7});
  impulse[0][0][3][3] = 1;
  const torch::Tensor blurred = upfirdn2d(impulse, kernel, 1, 1, 2, 1);
  EXPECT_EQ(blurred.sizes(), (std::vector<int64_t>{1, 1, 7, 7}));
  EXPECT_TRUE(torch::allclose(blurred[0][0].slice(0, 2, 6).slice(1, 2, 6), kernel));
  EXPECT_NEAR(blurred.sum().item<double>(), 1.0, 1e-6);

  Upsample up;
  const torch::Tensor constant = torch::full({1, 2, 6, 6}, 3.0);
  const torch::Tensor big = up->forward(constant);
  EXPECT_EQ(big.sizes(), (std::vector<int64_t>{1, 2, 12, 12}));
  EXPECT_TRUE(torch::allclose(big.slice(2, 2, 10).slice(3, 2, 10), torch::full({1, 2, 8, 8}, 3.0)));
}

// upfirdn2d's own depthwise Function against the plain composition (zero
// insertion, padding, LibTorch's grouped convolution), to second order.
TEST(StyleGan2Layers, UpfirdnMatchesThePlainCompositionToSecondOrder) {
  namespace F = torch::nn::functional;
  const torch::Tensor kernel = make_blur_kernel({1, 3, 3, 1}, 4.0);
  auto plain = [&](const torch::Tensor& x) {
    const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    torch::Tensor up = F::pad(x.reshape({b, c, h, 1, w, 1}), F::PadFuncOptions({0, 1, 0, 0, 0, 1})).reshape({b, c, 2 * h, 2 * w});
    up = F::pad(up, F::PadFuncOptions({2, 1, 2, 1}));
    const torch::Tensor weight = kernel.flip({0, 1}).view({1, 1, 4, 4}).expand({c, 1, 4, 4});
    return F::conv2d(up, weight, F::Conv2dFuncOptions().groups(c));
  };
  auto ours = [&](const torch::Tensor& x) { return upfirdn2d(x, kernel, 2, 1, 2, 1); };
  auto run = [&](const std::function<torch::Tensor(const torch::Tensor&)>& op) {
    torch::manual_seed(12);
    const torch::Tensor w = torch::randn({1, 3, 1, 1}).requires_grad_();
    const torch::Tensor x = torch::randn({2, 3, 5, 5}).requires_grad_();
    const torch::Tensor y = op(torch::tanh(x * w));
    const torch::Tensor probe = torch::randn_like(y);
    const torch::Tensor gx = torch::autograd::grad({(y * probe).sum()}, {x}, {}, true, true)[0];
    const torch::Tensor gw = torch::autograd::grad({gx.pow(2).sum()}, {w})[0];
    return std::vector<torch::Tensor>{y.detach(), gx.detach(), gw};
  };
  const auto a = run(ours), b = run(plain);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-5, 1e-6)) << "order " << i;
}

TEST(StyleGan2Layers, MinibatchStddevIsPerGroupOfFour) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({8, 3, 2, 2});
  const torch::Tensor out = grouped_minibatch_stddev(x, 4);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{8, 4, 2, 2}));
  // Sample i is in group i % 2 (the reference's view over the batch).
  for (int64_t g = 0; g < 2; ++g) {
    const torch::Tensor members = x.index_select(0, torch::tensor({g, g + 2, g + 4, g + 6}));
    const double expected = torch::sqrt(members.var(0, false) + 1e-8).mean().item<double>();
    for (int64_t i = g; i < 8; i += 2)
      EXPECT_NEAR(out[i][3][1][0].item<double>(), expected, 1e-6) << "sample " << i;
  }
  EXPECT_THROW(grouped_minibatch_stddev(torch::randn({6, 3, 2, 2}), 4), std::invalid_argument);
}

// Our modulated convolution (activations scaled, one convolution for the
// batch) against the reference's formula (weights modulated and
// demodulated per sample, a grouped convolution): values, gradients, and the
// gradient of a gradient norm, as R1 and the path-length penalty take it.
void expect_modulated_conv_matches_grouped(bool demodulate, bool upsample, bool downsample) {
  SCOPED_TRACE(std::string("demodulate ") + (demodulate ? "on" : "off") + (upsample ? ", upsample" : "") +
               (downsample ? ", downsample" : ""));
  torch::manual_seed(6);
  ModulatedConv2d conv(5, 7, upsample || downsample ? 3 : 3, 8, demodulate, upsample, downsample);
  torch::NoGradGuard no_grad_init;
  for (auto& p : conv->modulation->parameters()) p.add_(torch::randn_like(p) * 0.3);
  auto run = [&](bool grouped) {
    torch::AutoGradMode enable(true);
    torch::manual_seed(7);
    const torch::Tensor x = torch::randn({3, 5, 8, 8}).requires_grad_();
    const torch::Tensor style = torch::randn({3, 8}).requires_grad_();
    const torch::Tensor out = grouped ? conv->forward_grouped(x, style) : conv->forward(x, style);
    const torch::Tensor probe = torch::randn_like(out);
    const torch::Tensor loss = (out * probe).sum();
    auto first = torch::autograd::grad({loss}, {x, style}, {}, /*retain_graph=*/true, /*create_graph=*/true);
    const torch::Tensor penalty = first[0].pow(2).sum() + first[1].pow(2).sum();
    auto second = torch::autograd::grad({penalty}, {conv->weight, conv->modulation->weight});
    return std::vector<torch::Tensor>{out.detach(), first[0].detach(), first[1].detach(), second[0], second[1]};
  };
  const auto ours = run(false), reference = run(true);
  const char* names[] = {"output", "d/dx", "d/dstyle", "d2/dweight", "d2/dmodulation"};
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_EQ(ours[i].sizes(), reference[i].sizes()) << names[i];
    const double error = (ours[i] - reference[i]).norm().item<double>() / reference[i].norm().item<double>();
    EXPECT_LT(error, 1e-5) << names[i];
  }
}

TEST(StyleGan2Layers, ModulatedConvolutionMatchesTheGroupedFormulaToSecondOrder) {
  expect_modulated_conv_matches_grouped(true, false, false);
  expect_modulated_conv_matches_grouped(false, false, false);
  expect_modulated_conv_matches_grouped(true, true, false);
  expect_modulated_conv_matches_grouped(true, false, true);
}

TEST(StyleGan2Layers, EqualLinearScalesWeightsAndBiasByTheLearningRateMultiplier) {
  torch::manual_seed(8);
  EqualLinear linear(4, 3, /*bias_init=*/0.5, /*lr_mul=*/0.01);
  const torch::Tensor x = torch::randn({2, 4});
  const torch::Tensor expected = torch::mm(x, (linear->weight * 0.01 / 2.0).t()) + linear->bias * 0.01;
  EXPECT_TRUE(torch::allclose(linear->forward(x), expected));
  EXPECT_NEAR(linear->bias[0].item<double>(), 0.5, 1e-7);
  // N(0, 1) / lr_mul: the effective weight starts N(0, 1 / in).
  EqualLinear wide(512, 512, 0.0, 0.01);
  EXPECT_NEAR(wide->weight.std().item<double>(), 100.0, 2.0);
}

// A generator linear in its latents: image = (sum over W+ entries of w) A,
// so J^T y = A y for every entry and each path length is |A y|.
TEST(StyleGan2Losses, PathLengthPenaltyAndRunningMeanOnALinearMap) {
  torch::manual_seed(9);
  const int64_t batch = 3, entries = 4, dim = 5;
  const torch::Tensor a = torch::randn({dim, 16}).requires_grad_();  // the generator's one parameter
  const torch::Tensor latents = torch::randn({batch, entries, dim}).requires_grad_();
  const torch::Tensor images = torch::mm(latents.sum(1), a).view({batch, 1, 4, 4});
  const torch::Tensor y = torch::randn({batch, 1, 4, 4});
  const PathLength path = path_length_penalty(images, latents, /*running_mean=*/2.0, /*decay=*/0.01, y);
  const torch::Tensor lengths = torch::mm(y.view({batch, 16}), a.t()).norm(2, 1).detach();
  EXPECT_TRUE(torch::allclose(path.lengths, lengths, 1e-5, 1e-6));
  const double mean = 2.0 + 0.01 * (lengths.mean().item<double>() - 2.0);
  EXPECT_NEAR(path.mean, mean, 1e-6);
  // Relative: a float32 sum near 86 rounds differently on another CPU's kernels (1.5e-5 apart on an AMD EPYC).
  const double penalty = (lengths - mean).pow(2).mean().item<double>();
  EXPECT_NEAR(path.penalty.item<double>(), penalty, 1e-6 * std::abs(penalty));
  // Differentiable, as the reference's formula, whose new mean stays
  // attached to the batch's lengths: (L - (m + d (mean(L) - m)))^2.
  const torch::Tensor grad = torch::autograd::grad({path.penalty}, {a})[0];
  const torch::Tensor live = torch::mm(y.view({batch, 16}), a.t()).norm(2, 1);
  const torch::Tensor reference = (live - (2.0 + 0.01 * (live.mean() - 2.0))).pow(2).mean();
  const torch::Tensor expected = torch::autograd::grad({reference}, {a}, {}, /*retain_graph=*/true)[0];
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(grad, expected, 1e-5, 1e-7));
  // A detached mean would differ (by about the decay's share).
  const torch::Tensor detached = (live - (2.0 + 0.01 * (live.mean().detach() - 2.0))).pow(2).mean();
  EXPECT_FALSE(torch::allclose(torch::autograd::grad({detached}, {a})[0], expected, 1e-7, 1e-9));
}

TEST(StyleGan2Losses, R1IsTheSquaredGradientNormOfTheRealScores) {
  const torch::Tensor w = torch::tensor({1.0f, -2.0f, 0.5f, 3.0f});
  const torch::Tensor x = torch::randn({2, 4}).requires_grad_();
  const torch::Tensor score = torch::mv(x * x, w) * 0.5;  // grad: x * w
  const torch::Tensor penalty = r1_penalty(score, x);
  EXPECT_NEAR(penalty.item<double>(), (x * w).pow(2).sum(1).mean().item<double>(), 1e-5);
  // Second order: d penalty / dx = 2 x w^2 / batch.
  const torch::Tensor grad = torch::autograd::grad({penalty}, {x})[0];
  EXPECT_TRUE(torch::allclose(grad, x.detach() * w * w, 1e-5, 1e-6));
}

TEST(StyleGan2Training, LazyRegularisationCorrectsAdamsRateAndBetas) {
  const AdamSettings d = lazy_adam_settings(0.002, 16), g = lazy_adam_settings(0.002, 4), none = lazy_adam_settings(0.002, 0);
  EXPECT_NEAR(d.lr, 0.002 * 16 / 17, 1e-12);
  EXPECT_EQ(d.beta1, 0.0);
  EXPECT_NEAR(d.beta2, std::pow(0.99, 16.0 / 17), 1e-12);
  EXPECT_NEAR(g.lr, 0.002 * 0.8, 1e-12);
  EXPECT_NEAR(g.beta2, std::pow(0.99, 0.8), 1e-12);
  EXPECT_EQ(none.lr, 0.002);
  EXPECT_NEAR(none.beta2, 0.99, 1e-12);
  EXPECT_NEAR(reference_ema_decay(), 0.997784, 1e-6);
}

// StyleGAN2-ADA's ramp-up: a half-life of 5% of the images trained on, in
// steps 0.05 x (iteration + 1) whatever the batch, up to the reference's decay.
TEST(StyleGan2Training, TheEmaRampsUpToTheReferenceDecay) {
  const sg::EmaOptions ramp{reference_ema_decay(), 0.05};
  EXPECT_NEAR(ramped_ema_decay(ramp, 0, 16), std::pow(0.5, 20.0), 1e-15);  // the first step: nearly a copy
  for (int64_t batch : {4, 16, 64}) EXPECT_NEAR(ramped_ema_decay(ramp, 99, batch), std::pow(0.5, 1 / 5.0), 1e-12);
  EXPECT_NEAR(ramped_ema_decay(ramp, 6249, 16), reference_ema_decay(), 1e-12);  // a half-life of 312.5 steps
  EXPECT_LT(ramped_ema_decay(ramp, 6000, 16), reference_ema_decay());
  EXPECT_EQ(ramped_ema_decay(ramp, 100000, 16), reference_ema_decay());
  const sg::EmaOptions fixed{reference_ema_decay(), 0};
  for (int64_t i : {0, 99, 100000}) EXPECT_EQ(ramped_ema_decay(fixed, i, 16), reference_ema_decay());
}

// Adam's step count of a network's first parameter: one per optimiser step.
int64_t adam_steps(torch::optim::Adam& optimizer, torch::nn::Module& module) {
  const auto* state = sg::find_adam_state(optimizer, module.parameters().front());
  return state ? state->step() : 0;
}

TEST(StyleGan2Training, LazyStepsRunAtTheirIntervalsAndTheEmaFollows) {
  torch::manual_seed(10);
  Regularization r;
  r.d_every = 4;
  r.g_every = 2;
  Models m = make_models(small_config(8), 0.002, Loss::LogisticR1, r, torch::kCPU);
  std::mt19937_64 rng(1);
  LazyState state;
  StepOptions o;
  o.regularization = r;
  const torch::Tensor real = torch::rand({4, 1, 8, 8}) * 2 - 1;
  const std::vector<std::pair<int64_t, int64_t>> expected = {{2, 2}, {3, 3}, {4, 5}, {5, 6}, {7, 8}};
  for (int64_t i = 0; i < 5; ++i) {
    const torch::Tensor before = m.ema->style->parameters().back().clone();
    o.iteration = i;
    const StepStats stats = train_step(m, real, o, state, rng);
    EXPECT_EQ(adam_steps(*m.d_optimizer, *m.discriminator), expected[i].first) << "iteration " << i;
    EXPECT_EQ(adam_steps(*m.g_optimizer, *m.generator), expected[i].second) << "iteration " << i;
    EXPECT_TRUE(std::isfinite(stats.d_loss.item<double>()));
    EXPECT_TRUE(std::isfinite(stats.g_loss.item<double>()));
    EXPECT_GT(stats.penalty.item<double>(), 0.0);
    EXPECT_GT(stats.path_length.item<double>(), 0.0);
    // EMA: decay * before + (1 - decay) * G.
    const torch::Tensor g = m.generator->style->parameters().back();
    const torch::Tensor ema = m.ema->style->parameters().back();
    EXPECT_TRUE(torch::allclose(ema, before * o.ema_decay + g * (1 - o.ema_decay), 1e-5, 1e-7));
  }
  EXPECT_GT(state.path_mean, 0.0);
}

TEST(StyleGan2Training, WganGpTrainsWithAnUncorrectedDiscriminatorOptimiser) {
  torch::manual_seed(11);
  Regularization r;
  Models m = make_models(small_config(8), 0.001, Loss::WganGp, r, torch::kCPU);
  const auto& d_options = static_cast<const torch::optim::AdamOptions&>(m.d_optimizer->param_groups()[0].options());
  EXPECT_EQ(d_options.lr(), 0.001);
  std::mt19937_64 rng(2);
  LazyState state;
  StepOptions o;
  o.loss = Loss::WganGp;
  const StepStats stats = train_step(m, torch::rand({4, 1, 8, 8}) * 2 - 1, o, state, rng);
  EXPECT_EQ(adam_steps(*m.d_optimizer, *m.discriminator), 1);
  EXPECT_GT(stats.penalty.item<double>(), 0.0);
}

// A step in float64 (the lock-step benchmark's --double): every loss,
// penalty and weight stays float64, none cast to fp32 on the way (which
// would cut the comparison with the reference to fp32 round-off); results
// of reduced precision still come back as fp32.
TEST(StyleGan2Training, AStepInFloat64KeepsFloat64Throughout) {
  torch::manual_seed(12);
  Regularization r;
  Models m = make_models(small_config(8), 0.002, Loss::LogisticR1, r, torch::kCPU);
  for (torch::nn::Module* module : {static_cast<torch::nn::Module*>(m.generator.get()),
                                    static_cast<torch::nn::Module*>(m.discriminator.get()),
                                    static_cast<torch::nn::Module*>(m.ema.get())})
    module->to(torch::kDouble);
  const torch::Tensor real = (torch::rand({4, 1, 8, 8}) * 2 - 1).to(torch::kDouble);
  std::mt19937_64 rng(3);
  LazyState state;
  StepOptions o;
  o.regularization = r;
  o.mixing = 0.9;
  const StepStats stats = train_step(m, real, o, state, rng);  // iteration 0: R1 and path length too
  for (const torch::Tensor& t : {stats.d_loss, stats.g_loss, stats.penalty, stats.path, stats.path_length}) {
    EXPECT_EQ(t.scalar_type(), torch::kDouble);
    EXPECT_TRUE(std::isfinite(t.item<double>()));
  }
  EXPECT_GT(stats.penalty.item<double>(), 0.0);
  for (const auto& p : m.generator->parameters()) EXPECT_EQ(p.scalar_type(), torch::kDouble);
  for (const auto& p : m.ema->parameters()) EXPECT_EQ(p.scalar_type(), torch::kDouble);
  EXPECT_EQ(sg::full_precision(torch::ones({2}, torch::kBFloat16)).scalar_type(), torch::kFloat);
  EXPECT_EQ(sg::full_precision(torch::ones({2}, torch::kHalf)).scalar_type(), torch::kFloat);
  EXPECT_EQ(sg::full_precision(torch::ones({2}, torch::kDouble)).scalar_type(), torch::kDouble);
}

// bf16 autocast (--precision bf16) against fp32 on the same weights,
// latents, noise and batch: D's logistic loss and R1 penalty, G's loss and
// the path-length penalty within the bounds StyleGAN's bf16 test holds
// (penalties within 1-2%, gradients pointing the same way), every gradient
// landing in fp32 weights. Measured on the CPU: D loss 1.8738 / 1.8746, R1
// 0.004230 / 0.004195, G loss 0.3358 / 0.3361, path length 0.6190 / 0.6177;
// gradient cosines D 0.9994, R1 0.9999, G 0.9996, path 0.9996.
torch::Tensor flat_gradient(torch::nn::Module& module) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : module.parameters())
    parts.push_back(p.grad().defined() ? p.grad().flatten() : torch::zeros({p.numel()}));
  return torch::cat(parts);
}

TEST(StyleGan2Precision, Bf16GradientsMatchFp32) {
  Config c = small_config(32, 1);
  c.max_channels = 64;
  c.style_dim = 64;
  torch::manual_seed(4);
  Generator g(c);
  Discriminator d(c);
  const torch::Tensor real = torch::rand({8, 1, 32, 32}) * 2 - 1;
  const torch::Tensor z = torch::randn({8, c.style_dim});
  std::vector<torch::Tensor> noise;
  for (int layer = 0; layer < c.num_layers(); ++layer) {
    const int64_t s = int64_t{1} << ((layer + 5) / 2);
    noise.push_back(torch::randn({8, 1, s, s}));
  }
  struct Result {
    double d_loss, r1, g_loss, path;
    torch::Tensor d_grad, r1_grad, g_grad, path_grad;
  };
  auto run = [&](Precision precision) {
    Result r;
    auto judge = [&](const torch::Tensor& x) {
      AutocastScope autocast(x.device(), precision);
      return d->forward(x).to(torch::kFloat);
    };
    SynthesisOptions o;
    o.noise = noise;
    o.precision = precision;
    d->zero_grad();
    torch::Tensor fake;
    {
      torch::NoGradGuard no_grad;
      fake = g->forward(std::vector{z}, o).image;
    }
    EXPECT_EQ(fake.scalar_type(), torch::kFloat);
    const torch::Tensor d_loss = logistic_discriminator_loss(judge(real), judge(fake));
    d_loss.backward();
    r.d_loss = d_loss.item<double>();
    r.d_grad = flat_gradient(*d);
    d->zero_grad();
    const torch::Tensor x = real.detach().requires_grad_(true);
    const torch::Tensor r1 = r1_penalty(judge(x), x);
    r1.backward();
    r.r1 = r1.item<double>();
    r.r1_grad = flat_gradient(*d);
    g->zero_grad();
    const torch::Tensor g_loss = logistic_generator_loss(judge(g->forward(std::vector{z}, o).image));
    g_loss.backward();
    r.g_loss = g_loss.item<double>();
    r.g_grad = flat_gradient(*g);
    g->zero_grad();
    torch::manual_seed(11);  // the same projection
    const GeneratorOutput out = g->forward(std::vector{z}, o);
    const PathLength path = path_length_penalty(out.image, out.latent, 0.0);
    path.penalty.backward();
    r.path = path.lengths.mean().item<double>();
    r.path_grad = flat_gradient(*g);
    return r;
  };
  const Result fp32 = run(Precision::Fp32), bf16 = run(Precision::Bf16);
  auto cosine = [](const torch::Tensor& a, const torch::Tensor& b) {
    return torch::cosine_similarity(a, b, 0).item<double>();
  };
  std::cout << "d_loss " << fp32.d_loss << " / " << bf16.d_loss << ", r1 " << fp32.r1 << " / " << bf16.r1 << ", g_loss "
            << fp32.g_loss << " / " << bf16.g_loss << ", path length " << fp32.path << " / " << bf16.path
            << "; gradient cosines D " << cosine(fp32.d_grad, bf16.d_grad) << ", R1 " << cosine(fp32.r1_grad, bf16.r1_grad)
            << ", G " << cosine(fp32.g_grad, bf16.g_grad) << ", path " << cosine(fp32.path_grad, bf16.path_grad) << "\n";
  EXPECT_NE(bf16.g_loss, fp32.g_loss);  // bf16 did run
  EXPECT_NEAR(bf16.d_loss, fp32.d_loss, 0.01 * fp32.d_loss);
  EXPECT_NEAR(bf16.r1, fp32.r1, 0.02 * fp32.r1);
  EXPECT_NEAR(bf16.g_loss, fp32.g_loss, 0.02 * fp32.g_loss);
  EXPECT_NEAR(bf16.path, fp32.path, 0.02 * fp32.path);
  EXPECT_GT(cosine(fp32.d_grad, bf16.d_grad), 0.995);
  EXPECT_GT(cosine(fp32.r1_grad, bf16.r1_grad), 0.97);
  EXPECT_GT(cosine(fp32.g_grad, bf16.g_grad), 0.97);
  EXPECT_GT(cosine(fp32.path_grad, bf16.path_grad), 0.95);
  for (const auto& p : g->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
}

}  // namespace
