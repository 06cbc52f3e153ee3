// Adaptive discriminator augmentation: each transform against its closed
// form, the untouched cases bit-identical, gradients to second order, and
// the controller.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "model/augment/adaptive.hpp"
#include "model/augment/pipeline.hpp"

namespace sg {
namespace {

constexpr double kPi = 3.14159265358979323846;
namespace F = torch::nn::functional;

torch::Tensor random_images(int64_t n, int64_t channels, int64_t size, uint64_t seed = 1) {
  auto generator = at::detail::createCPUGenerator(seed);
  return torch::rand({n, channels, size, size}, generator) * 2 - 1;
}

// A smooth, asymmetric blob in [-1, 1] at centred pixel coordinates (x, y).
double blob(double x, double y) {
  const double a = (x - 4) / 9, b = (y + 3) / 6;
  return 2 * std::exp(-(a * a + b * b) / 2 - 0.3 * a * b) - 1;
}

torch::Tensor blob_image(int64_t size, const std::array<double, 6>& map = {1, 0, 0, 0, 1, 0}) {
  auto image = torch::empty({1, 1, size, size}, torch::kDouble);
  auto a = image.accessor<double, 4>();
  const double centre = (size - 1) / 2.0;
  for (int64_t i = 0; i < size; ++i)
    for (int64_t j = 0; j < size; ++j) {
      const double x = j - centre, y = i - centre;
      a[0][0][i][j] = blob(map[0] * x + map[1] * y + map[2], map[3] * x + map[4] * y + map[5]);
    }
  return image;
}

ImageAugmentation warp_of(const std::array<double, 6>& inverse) {
  ImageAugmentation a;
  a.inverse = inverse;
  return a;
}

TEST(Augment, ZeroProbabilityLeavesTheBatchAndTheGeneratorAlone) {
  const auto x = random_images(4, 1, 16);
  std::mt19937_64 rng(3), untouched(3);
  const auto out = augment(x, 0.0, rng);
  EXPECT_TRUE(out.is_same(x));
  EXPECT_EQ(rng(), untouched());
  for (const ImageAugmentation& a : sample_augmentations(8, 16, 3, 0.0, rng)) {
    EXPECT_FALSE(a.blits() || a.warps() || a.recolours());
  }
}

TEST(Augment, ImagesNoTransformChoseStayBitIdentical) {
  const auto x = random_images(3, 1, 16);
  std::vector<ImageAugmentation> plan(3);
  plan[1].inverse = {0.9, 0.1, 0.5, -0.1, 1.1, 0, };
  plan[1].flip_x = true;
  plan[1].colour[0] = 1.2;
  const auto out = apply_augmentations(x, plan);
  EXPECT_TRUE(torch::equal(out[0], x[0]));
  EXPECT_TRUE(torch::equal(out[2], x[2]));
  EXPECT_FALSE(torch::allclose(out[1], x[1]));
}

TEST(Augment, FlipQuarterTurnsAndIntegerShiftsAreExact) {
  const auto x = random_images(2, 3, 16);
  for (int turns = 0; turns < 4; ++turns)
    for (bool flip : {false, true}) {
      std::vector<ImageAugmentation> plan(2);
      for (auto& a : plan) {
        a.flip_x = flip;
        a.quarter_turns = turns;
      }
      auto expected = flip ? torch::flip(x, {3}) : x;
      expected = torch::rot90(expected, turns, {2, 3});
      if (!flip && turns == 0) continue;
      EXPECT_TRUE(torch::equal(apply_augmentations(x, plan), expected)) << "flip " << flip << " turns " << turns;
    }
  // Content moves right by 2 and up by 1; what enters is the mirror image.
  std::vector<ImageAugmentation> plan(2);
  for (auto& a : plan) {
    a.shift_x = 2;
    a.shift_y = -1;
  }
  const auto padded = F::pad(x, F::PadFuncOptions({2, 2, 1, 1}).mode(torch::kReflect));
  const auto expected = padded.slice(2, 2, 18).slice(3, 0, 16);
  EXPECT_TRUE(torch::equal(apply_augmentations(x, plan), expected));
  // All three, in the documented order: shift(rot90(flip(x))).
  for (auto& a : plan) {
    a.flip_x = true;
    a.quarter_turns = 3;
  }
  const auto turned = torch::rot90(torch::flip(x, {3}), 3, {2, 3});
  const auto all = F::pad(turned, F::PadFuncOptions({2, 2, 1, 1}).mode(torch::kReflect)).slice(2, 2, 18).slice(3, 0, 16);
  EXPECT_TRUE(torch::equal(apply_augmentations(x, plan), all));
}

TEST(Augment, AWarpByWholePixelsIsAShiftInside) {
  // Through the filtered path, a whole-pixel translation reproduces the
  // pixels to float precision (orthonormal wavelet, bilinear at the nodes).
  const auto x = random_images(1, 1, 32).to(torch::kDouble);
  const auto out = apply_augmentations(x, {warp_of({1, 0, -3, 0, 1, 2})});  // reads x + 3 - ... : content right 3, up 2
  const auto inside_out = out.slice(2, 0, 30).slice(3, 3, 32);
  const auto inside_in = x.slice(2, 2, 32).slice(3, 0, 29);
  EXPECT_LT((inside_out - inside_in).abs().max().item<double>(), 1e-5);
}

TEST(Augment, ScaleRotationAndFractionalTranslationWithinInterpolationError) {
  const int64_t size = 64;
  const double c = std::cos(0.7), s = std::sin(0.7);
  const std::vector<std::pair<std::string, std::array<double, 6>>> maps = {
      {"isotropic scale", {1 / 1.25, 0, 0, 0, 1 / 1.25, 0}},
      {"anisotropic scale", {1.2, 0, 0, 0, 1 / 1.2, 0}},
      {"rotation", {c, -s, 0, s, c, 0}},
      {"fractional translation", {1, 0, -2.37, 0, 1, 1.61}},
      {"all", {0.8 * c, -1.1 * s, 1.3, 0.8 * s, 1.1 * c, -0.4}},
  };
  const auto x = blob_image(size);
  const double centre = (size - 1) / 2.0;
  for (const auto& [name, map] : maps) {
    const auto out = apply_augmentations(x, {warp_of(map)});
    const auto expected = blob_image(size, map);
    // Where the map reads inside the image, 3 pixels from its border: beyond,
    // reflection stands in for what the image does not show.
    auto inside = torch::zeros({1, 1, size, size}, torch::kBool);
    for (int64_t i = 0; i < size; ++i)
      for (int64_t j = 0; j < size; ++j) {
        const double x0 = j - centre, y0 = i - centre;
        const double sx = map[0] * x0 + map[1] * y0 + map[2], sy = map[3] * x0 + map[4] * y0 + map[5];
        inside[0][0][i][j] = std::abs(sx) < centre - 3 && std::abs(sy) < centre - 3;
      }
    const double error = (out - expected).masked_select(inside).abs().max().item<double>();
    EXPECT_LT(error, 0.005) << name;  // measured: 0.0017 to 0.0026 of a range of 2
  }
}

TEST(Augment, BrightnessAndContrastAreAffine) {
  const auto x = random_images(2, 1, 8);
  std::vector<ImageAugmentation> plan(2);
  plan[0].colour[0] = 1.5;              // contrast 1.5 after brightness 0.2: 1.5 (x + 0.2)
  plan[0].colour[3] = 1.5 * 0.2;
  plan[1].colour[3] = -0.3;             // brightness alone
  const auto out = apply_augmentations(x, plan);
  EXPECT_TRUE(torch::allclose(out[0], 1.5 * (x[0] + 0.2), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(out[1], x[1] - 0.3, 1e-6, 1e-6));
}

TEST(Augment, ColourTransformsKeepGreyGreyAndMoveColour) {
  // Luma flip, hue and saturation act about the grey axis: a grey RGB image
  // stays grey whatever they do; a coloured one changes hue.
  auto grey = random_images(16, 1, 16).repeat({1, 3, 1, 1});
  std::mt19937_64 rng(5);
  const auto out = augment(grey, 0.9, rng);
  EXPECT_LT((out.select(1, 0) - out.select(1, 1)).abs().max().item<float>(), 1e-5);
  EXPECT_LT((out.select(1, 1) - out.select(1, 2)).abs().max().item<float>(), 1e-5);
  std::mt19937_64 same(5);
  EXPECT_TRUE(torch::equal(out, augment(grey, 0.9, same)));
  int recoloured = 0;
  for (const ImageAugmentation& a : sample_augmentations(64, 16, 3, 0.9, rng))
    if (a.colour[1] != 0 || a.colour[4] != 0) ++recoloured;  // an off-diagonal term: hue or saturation
  EXPECT_GT(recoloured, 32);
}

TEST(Augment, ProbabilityDecidesHowOftenEachTransformHappens) {
  std::mt19937_64 rng(7);
  for (double p : {0.2, 0.6}) {
    int warped = 0, recoloured = 0, blitted = 0;
    const int n = 4000;
    for (const ImageAugmentation& a : sample_augmentations(n, 32, 1, p, rng)) {
      warped += a.warps();
      recoloured += a.recolours();
      blitted += a.blits();
    }
    // Warp: scales, translation and the rotation pair (one of them with p)
    // each with p: 1 - (1 - p)^4. Colour: 1 - (1 - p)^2. Blit: at least the
    // 90-degree turns and shifts (3/4 and nearly always non-trivial).
    EXPECT_NEAR(warped / double(n), 1 - std::pow(1 - p, 4), 0.03) << p;
    EXPECT_NEAR(recoloured / double(n), 1 - std::pow(1 - p, 2), 0.03) << p;
    EXPECT_GT(blitted / double(n), p * 0.75);
  }
}

TEST(Augment, GradientsReachTheImagesToSecondOrder) {
  auto x = random_images(2, 1, 16, 9).to(torch::kDouble);
  std::mt19937_64 rng(11);
  const auto plan = sample_augmentations(2, 16, 1, 0.95, rng);
  ASSERT_TRUE(plan[0].warps() && plan[1].warps());
  // First order: the derivative along v equals a central difference (the
  // pipeline is affine, so exactly up to rounding).
  const auto v = random_images(2, 1, 16, 10).to(torch::kDouble);
  const auto w = random_images(2, 1, 16, 12).to(torch::kDouble);
  auto input = x.clone().requires_grad_(true);
  (apply_augmentations(input, plan) * w).sum().backward();
  const double analytic = (input.grad() * v).sum().item<double>();
  const double eps = 1e-3;
  const double numeric = ((apply_augmentations(x + eps * v, plan) * w).sum() -
                          (apply_augmentations(x - eps * v, plan) * w).sum()).item<double>() / (2 * eps);
  EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)));
  EXPECT_GT(input.grad().abs().sum().item<double>(), 0);

  // Second order: an R1 penalty |d D(aug(x)) / dx|^2 differentiates with
  // respect to D's weights, and matches a central difference.
  torch::manual_seed(1);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(1, 2, 3).padding(1));
  conv->to(torch::kDouble);
  auto penalty = [&]() {
    auto real = x.clone().requires_grad_(true);
    auto score = torch::tanh(conv->forward(apply_augmentations(real, plan))).pow(2).sum();
    auto grad = torch::autograd::grad({score}, {real}, {}, true, true)[0];
    return grad.pow(2).sum();
  };
  conv->zero_grad();
  penalty().backward();
  const double analytic2 = conv->weight.grad()[1][0][1][2].item<double>();
  torch::NoGradGuard no_grad;
  auto weight = conv->weight[1][0][1][2];
  const double original = weight.item<double>();
  weight.fill_(original + eps);
  double up = 0, down = 0;
  {
    torch::AutoGradMode enable(true);
    up = penalty().item<double>();
  }
  weight.fill_(original - eps);
  {
    torch::AutoGradMode enable(true);
    down = penalty().item<double>();
  }
  weight.fill_(original);
  EXPECT_NEAR(analytic2, (up - down) / (2 * eps), 1e-4 * std::max(1.0, std::abs(analytic2)));
  EXPECT_NE(analytic2, 0);
}

TEST(Augment, KeepsTheChannelsLastLayout) {
  const auto x = random_images(2, 3, 16).contiguous(torch::MemoryFormat::ChannelsLast);
  std::mt19937_64 rng(2);
  const auto out = augment(x, 0.9, rng);
  EXPECT_TRUE(out.is_contiguous(torch::MemoryFormat::ChannelsLast));
  std::mt19937_64 same(2);
  EXPECT_TRUE(torch::allclose(out, augment(x.contiguous(), 0.9, same), 1e-5, 1e-5));
}

TEST(Augment, RefusesWhatItCannotTransform) {
  std::vector<ImageAugmentation> plan(1);
  plan[0].flip_x = true;
  EXPECT_THROW(apply_augmentations(torch::zeros({1, 1, 8, 16}), plan), std::invalid_argument);
  EXPECT_THROW(apply_augmentations(torch::zeros({1, 2, 8, 8}), plan), std::invalid_argument);
  EXPECT_THROW(apply_augmentations(torch::zeros({2, 1, 8, 8}), plan), std::invalid_argument);
}

TEST(AdaptiveAugment, ConfidentDiscriminatorRaisesPUnsureLowersIt) {
  AugmentSettings settings;
  settings.enabled = true;
  settings.length = 10000;
  settings.every = 256;
  AugmentState state;
  // 16 batches of 16 reals, all judged real: r_t 1 > 0.6.
  for (int i = 0; i < 15; ++i) EXPECT_FALSE(observe_real_signs(state, 16, 16, settings));
  EXPECT_TRUE(observe_real_signs(state, 16, 16, settings));
  EXPECT_DOUBLE_EQ(state.r_t, 1.0);
  EXPECT_DOUBLE_EQ(state.p, 256.0 / 10000);
  EXPECT_EQ(state.images, 0);
  for (int i = 0; i < 16 * 10; ++i) observe_real_signs(state, 16, 16, settings);
  EXPECT_NEAR(state.p, 11 * 256.0 / 10000, 1e-12);
  // Unsure: half the reals on each side, r_t 0 < 0.6.
  for (int i = 0; i < 16 * 3; ++i) observe_real_signs(state, 0, 16, settings);
  EXPECT_DOUBLE_EQ(state.r_t, 0.0);
  EXPECT_NEAR(state.p, 8 * 256.0 / 10000, 1e-12);
  // Clamped: never below 0, never 1.
  for (int i = 0; i < 16 * 50; ++i) observe_real_signs(state, -16, 16, settings);
  EXPECT_EQ(state.p, 0.0);
  for (int i = 0; i < 16 * 100; ++i) observe_real_signs(state, 16, 16, settings);
  EXPECT_LT(state.p, 1.0);
  EXPECT_GT(state.p, 0.999);
}

TEST(AdaptiveAugment, FixedProbabilityNeverMovesButStillMeasures) {
  AugmentSettings settings;
  settings.fixed_p = 0.3;
  AugmentState state;
  state.p = 0.3;
  for (int i = 0; i < 64; ++i) observe_real_signs(state, 16, 16, settings);
  EXPECT_DOUBLE_EQ(state.p, 0.3);
  EXPECT_DOUBLE_EQ(state.r_t, 1.0);
}

TEST(AdaptiveAugment, ChecksItsSettings) {
  AugmentSettings s;
  EXPECT_EQ(check_augment_settings(s), "");
  s.fixed_p = 1.0;
  EXPECT_NE(check_augment_settings(s), "");
  s.fixed_p = -0.1;
  EXPECT_NE(check_augment_settings(s), "");
  s.fixed_p.reset();
  s.length = 0;
  EXPECT_NE(check_augment_settings(s), "");
  s.length = 1000;
  s.every = 0;
  EXPECT_NE(check_augment_settings(s), "");
}

}  // namespace
}  // namespace sg
