// Each prep stage alone, as a pure function, without threads.
#include <gtest/gtest.h>

#include <cmath>

#include "common/images/box_filter.hpp"
#include "stages/crop.hpp"
#include "stages/flip.hpp"
#include "stages/normalize.hpp"
#include "stages/pyramid.hpp"
#include "stages/slice.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

Image8 ramp(int w, int h) {
  Image8 image(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) image.at(x, y) = static_cast<uint8_t>(y * w + x);
  return image;
}

TEST(Crop, CenterSquareTakesTheMiddleOfTheLongSide) {
  Image8 image = ramp(6, 4);
  Crop config;
  config.set_mode(Crop::CENTER_SQUARE);
  Image8 out = crop_square(image, config);
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 4);
  EXPECT_EQ(out.at(0, 0), image.at(1, 0));
  EXPECT_EQ(out.at(3, 3), image.at(4, 3));
}

TEST(Crop, PadSquareLetterboxesWithoutLosingPixels) {
  Image8 image = ramp(4, 2);
  for (auto& p : image.pixels) p = static_cast<uint8_t>(p + 1);  // no zero pixels
  Crop config;
  config.set_mode(Crop::PAD_SQUARE);
  Image8 out = crop_square(image, config);
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 4);
  EXPECT_EQ(out.at(0, 0), 0);            // padding row above
  EXPECT_EQ(out.at(0, 1), image.at(0, 0));
  EXPECT_EQ(out.at(3, 2), image.at(3, 1));
  EXPECT_EQ(out.at(3, 3), 0);            // padding row below
}

TEST(Crop, ForegroundBoxWithMargin) {
  Image8 image(20, 20);
  for (int y = 5; y < 9; ++y)
    for (int x = 10; x < 14; ++x) image.at(x, y) = 200;
  Box box = foreground_box(image, 10);
  EXPECT_EQ(box.x, 10);
  EXPECT_EQ(box.y, 5);
  EXPECT_EQ(box.width, 4);
  EXPECT_EQ(box.height, 4);
  Crop config;
  config.set_mode(Crop::FOREGROUND);
  config.set_margin(0.25);  // 4 * 1.5 = 6 pixels square
  Image8 out = crop_square(image, config);
  ASSERT_EQ(out.width, 6);
  EXPECT_EQ(out.at(0, 0), 0);
  EXPECT_EQ(out.at(1, 1), 200);
  EXPECT_EQ(out.at(4, 4), 200);
  EXPECT_EQ(out.at(5, 5), 0);
}

TEST(Crop, BoxOutsideTheImageIsBlack) {
  Image8 image = ramp(4, 4);
  Crop config;
  config.set_mode(Crop::BOX);
  config.set_x(2);
  config.set_y(2);
  config.set_width(4);
  config.set_height(4);
  Image8 out = crop_square(image, config);
  ASSERT_EQ(out.width, 4);
  EXPECT_EQ(out.at(0, 0), image.at(2, 2));
  EXPECT_EQ(out.at(1, 1), image.at(3, 3));
  EXPECT_EQ(out.at(2, 2), 0);
}

TEST(Flip, MirrorAndCopies) {
  Image8 image = ramp(3, 2);
  Image8 mirrored = mirror_left_right(image);
  EXPECT_EQ(mirrored.at(0, 0), image.at(2, 0));
  EXPECT_EQ(mirrored.at(2, 1), image.at(0, 1));
  EXPECT_EQ(mirror_left_right(mirrored), image);

  auto out = apply_flip({image}, /*mirror=*/true, /*mirrored_copies=*/true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], mirrored);
  EXPECT_EQ(out[1], image);
  EXPECT_EQ(apply_flip({image}, false, false)[0], image);
}

TEST(Normalize, TypeRangeKeepsEightBitAndScalesSixteenBit) {
  SliceF s{2, 1, {0.f, 65535.f}};
  IntensityWindow config;
  config.set_mode(IntensityWindow::TYPE_RANGE);
  IntensityRange r = compute_window({&s}, 0.f, 65535.f, config);
  Image8 out = apply_window(s, r);
  EXPECT_EQ(out.pixels[0], 0);
  EXPECT_EQ(out.pixels[1], 255);
  SliceF e{3, 1, {0.f, 128.f, 255.f}};
  Image8 same = apply_window(e, compute_window({&e}, 0.f, 255.f, config));
  EXPECT_EQ(same.pixels, (std::vector<uint8_t>{0, 128, 255}));
}

TEST(Normalize, PercentileWindowClipsOutliersAndIgnoresZeros) {
  SliceF s;
  s.width = 1002;
  s.height = 1;
  for (int i = 0; i < 1000; ++i) s.pixels.push_back(static_cast<float>(1000 + i));  // 1000..1999
  s.pixels.push_back(0.f);
  s.pixels.push_back(1e6f);  // a hot voxel
  IntensityWindow config;
  config.set_mode(IntensityWindow::PERCENTILE);
  config.set_low_percentile(0);
  config.set_high_percentile(99);
  IntensityRange r = compute_window({&s}, 0.f, 0.f, config);
  EXPECT_EQ(r.low, 0.f);  // zeros stay black
  EXPECT_NEAR(r.high, 1990.f, 1.5f);
  Image8 out = apply_window(s, r);
  EXPECT_EQ(out.pixels[1001], 255);  // clipped
  EXPECT_EQ(out.pixels[1000], 0);
}

TEST(Pyramid, HalfBoxAveragesTwoByTwoWithRounding) {
  Image8 image(2, 2);
  image.pixels = {0, 1, 2, 3};  // mean 1.5 rounds to 2
  Image8 half = half_box(image);
  ASSERT_EQ(half.width, 1);
  EXPECT_EQ(half.pixels[0], 2);
  image.pixels = {10, 20, 30, 40};
  EXPECT_EQ(half_box(image).pixels[0], 25);
}

TEST(Pyramid, AreaFilterIsTheExactMeanWhenShrinkingByAnInteger) {
  Image8 image = ramp(4, 4);
  Image8 out = resize_square(image, 2, Pyramid::AREA);
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{3, 5, 11, 13}));  // means 2.5, 4.5, 10.5, 12.5, halves up
}

TEST(Pyramid, LanczosKeepsConstantsAndSmoothsCheckerboards) {
  Image8 flat(37, 37);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 77);
  for (int size : {8, 16, 64}) {
    Image8 out = resize_square(flat, size, Pyramid::LANCZOS3);
    for (uint8_t p : out.pixels) ASSERT_EQ(p, 77) << size;
  }
  Image8 checker(64, 64);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) checker.at(x, y) = ((x + y) % 2) ? 255 : 0;
  Image8 out = resize_square(checker, 16, Pyramid::LANCZOS3);
  // Anti-aliased: the Nyquist pattern averages to mid-grey inside.
  for (int y = 4; y < 12; ++y)
    for (int x = 4; x < 12; ++x) EXPECT_NEAR(out.at(x, y), 127.5, 1.0);
}

TEST(Pyramid, LanczosMatchesKnownWeights) {
  // Upsampling a single bright pixel: the kernel's own values appear.
  Image8 dot(4, 4);
  dot.at(1, 1) = 255;
  Image8 out = resize_square(dot, 8, Pyramid::LANCZOS3);
  // Output sample 3 sits at input 1.25 -> weight lanczos3(0.25) normalised;
  // its 2-D product with itself is reproduced within rounding.
  auto lanczos = [](double x) {
    const double pi = 3.14159265358979323846;
    if (x == 0) return 1.0;
    return std::sin(pi * x) / (pi * x) * std::sin(pi * x / 3) / (pi * x / 3);
  };
  double weights[6], total = 0;
  // center = 3.5 * 0.5 = 1.75; taps j = 0..3 (clipped at the border)
  for (int j = 0; j < 4; ++j) total += (weights[j] = lanczos(j - 1.75 + 0.5));
  double w1 = weights[1] / total;
  EXPECT_NEAR(out.at(3, 3), std::clamp(255 * w1 * w1, 0.0, 255.0), 1.0);
}

TEST(Pyramid, BuildsEveryRequestedSizeFromTheLargest) {
  Image8 image = test::synthetic_slice(181, 181, 1);
  auto levels = build_pyramid(image, {32, 8, 256}, Pyramid::LANCZOS3);
  ASSERT_EQ(levels.size(), 3u);
  EXPECT_EQ(levels[0].width, 8);
  EXPECT_EQ(levels[1].width, 32);
  EXPECT_EQ(levels[2].width, 256);
  // The 8x8 level is two box halvings of the 32x32 one.
  EXPECT_EQ(levels[0], half_box(half_box(levels[1])));
}

TEST(Slice, AxesShapesAndRowFlip) {
  Volume v;
  v.nx = 2;
  v.ny = 3;
  v.nz = 4;
  for (int i = 0; i < 24; ++i) v.voxels.push_back(static_cast<float>(i));
  SliceF z = extract_slice(v, 2, 1, false);
  EXPECT_EQ(z.width, 2);
  EXPECT_EQ(z.height, 3);
  EXPECT_EQ(z.pixels[0], v.at(0, 0, 1));
  SliceF zf = extract_slice(v, 2, 1, true);
  EXPECT_EQ(zf.pixels[0], v.at(0, 2, 1));
  SliceF x = extract_slice(v, 0, 1, false);
  EXPECT_EQ(x.width, 3);
  EXPECT_EQ(x.height, 4);
  EXPECT_EQ(x.pixels[1 * 3 + 2], v.at(1, 2, 1));
}

TEST(Slice, DropsEmptySlicesAndHonoursTheRange) {
  Volume v;
  v.nx = v.ny = 10;
  v.nz = 10;
  v.voxels.assign(1000, 0.f);
  for (int z = 3; z < 7; ++z)
    for (int y = 0; y < 10; ++y)
      for (int x = 0; x < 10; ++x) v.voxels[(z * 10 + y) * 10 + x] = 100.f;
  Slicing config;
  SliceResult all = slice_volume(v, config);
  EXPECT_EQ(all.slices.size(), 4u);
  EXPECT_EQ(all.dropped_empty, 6);
  config.set_first_fraction(0.5);
  config.set_stride(2);
  SliceResult some = slice_volume(v, config);
  EXPECT_EQ(some.slices.size(), 1u);  // z = 5 (z = 7, 9 empty)
}

}  // namespace
}  // namespace sg
