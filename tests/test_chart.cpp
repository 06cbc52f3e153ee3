// Pictures for people: the chart has its legend swatches and tick marks
// where it says, captions write text above an unchanged picture, and grids
// scale up exactly.
#include <gtest/gtest.h>

#include <cmath>

#include "common/images/chart.hpp"
#include "common/images/image_grid.hpp"

namespace sg {
namespace {

std::array<int, 3> rgb(const Image8& image, int x, int y) {
  const size_t at = (static_cast<size_t>(y) * image.width + x) * image.channels;
  if (image.channels == 1) return {image.pixels[at], image.pixels[at], image.pixels[at]};
  return {image.pixels[at], image.pixels[at + 1], image.pixels[at + 2]};
}

Chart known_chart() {
  Chart chart;
  chart.title = "test";
  ChartCurve d{"D loss", {}, {}, 200, 30, 30}, g{"G loss", {}, {}, 30, 60, 200}, p{"penalty", {}, {}, 20, 140, 60};
  for (int i = 0; i <= 100; ++i) {
    d.x.push_back(i * 10);
    d.y.push_back(std::sin(i * 0.1));
    g.x.push_back(i * 10);
    g.y.push_back(std::cos(i * 0.1) * 2);
    p.x.push_back(i * 10);
    p.y.push_back(0.01 * i);
    chart.secondary_x.push_back(i * 10);
    chart.secondary_values.push_back(i * 160);
  }
  chart.secondary_label = "images";
  chart.panels = {{"loss", {d, g}}, {"penalty", {p}}};
  chart.markers = {{500, "16x16"}};
  return chart;
}

TEST(Chart, LegendSwatchesAndTickMarksAreWhereTheLayoutSays) {
  if (!charts_have_text()) GTEST_SKIP() << "built without cairo";
  ChartLayout layout;
  const Image8 image = render_chart(known_chart(), &layout);
  EXPECT_EQ(image.channels, 3);
  ASSERT_EQ(layout.legend_swatches.size(), 3u);
  const std::array<std::array<int, 3>, 3> colours{{{200, 30, 30}, {30, 60, 200}, {20, 140, 60}}};
  for (size_t i = 0; i < 3; ++i) {
    const auto pixel = rgb(image, layout.legend_swatches[i].x, layout.legend_swatches[i].y);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(pixel[k], colours[i][k], 2) << "swatch " << i;
  }
  // 0..1000 in steps of 100 or 200 along x; several value ticks per panel.
  EXPECT_GE(layout.x_ticks.size(), 5u);
  EXPECT_GE(layout.y_ticks.size(), 6u);
  for (const auto& tick : layout.x_ticks) {
    const auto pixel = rgb(image, tick.x, tick.y);
    EXPECT_LT(pixel[0] + pixel[1] + pixel[2], 3 * 90) << "x tick at " << tick.x;
    // Beside the mark: background.
    const auto beside = rgb(image, tick.x + 3, tick.y);
    EXPECT_GT(beside[0] + beside[1] + beside[2], 3 * 200);
  }
  for (const auto& tick : layout.y_ticks) {
    const auto pixel = rgb(image, tick.x, tick.y);
    EXPECT_LT(pixel[0] + pixel[1] + pixel[2], 3 * 90) << "y tick at " << tick.y;
  }
  // Text under the axis: the tick labels' row holds dark pixels between ticks' x.
  int dark = 0;
  const int label_row = layout.x_ticks[0].y + 12;
  for (int x = 0; x < image.width; ++x) {
    const auto pixel = rgb(image, x, label_row);
    dark += pixel[0] + pixel[1] + pixel[2] < 3 * 128;
  }
  EXPECT_GT(dark, 10);
}

TEST(Chart, CaptionWritesTextAboveAnUnchangedPicture) {
  Image8 picture(40, 30, 1);
  for (size_t i = 0; i < picture.pixels.size(); ++i) picture.pixels[i] = static_cast<uint8_t>(i * 7);
  const Image8 captioned = add_caption(picture, "iteration 100");
  if (!charts_have_text()) {
    EXPECT_EQ(captioned, picture);
    return;
  }
  ASSERT_EQ(captioned.width, 40);
  ASSERT_GT(captioned.height, 30);
  const int band = captioned.height - 30;
  EXPECT_EQ(captioned.channels, 1);
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) ASSERT_EQ(captioned.at(x, y + band), picture.at(x, y));
  int ink = 0;
  for (int y = 0; y < band; ++y)
    for (int x = 0; x < 40; ++x) ink += captioned.at(x, y) < 128;
  EXPECT_GT(ink, 10);
}

TEST(Grid, ScalesUpExactlyAndPicksAReadableFactor) {
  Image8 tile(3, 2, 3);
  for (size_t i = 0; i < tile.pixels.size(); ++i) tile.pixels[i] = static_cast<uint8_t>(i * 11);
  const Image8 big = scale_up(tile, 4);
  ASSERT_EQ(big.width, 12);
  ASSERT_EQ(big.height, 8);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 12; ++x) EXPECT_EQ(rgb(big, x, y), rgb(tile, x / 4, y / 4));
  EXPECT_EQ(readable_factor(8), 8);
  EXPECT_EQ(readable_factor(16), 4);
  EXPECT_EQ(readable_factor(32), 2);
  EXPECT_EQ(readable_factor(64), 1);
  EXPECT_EQ(readable_factor(256), 1);
  const Image8 grid = make_grid({tile, tile}, 2, 2, 128);
  EXPECT_EQ(rgb(grid, 0, 0), (std::array<int, 3>{128, 128, 128}));
  EXPECT_EQ(rgb(grid, 2, 2), rgb(tile, 0, 0));
}

TEST(Chart, ShortNumbers) {
  EXPECT_EQ(short_number(0), "0");
  EXPECT_EQ(short_number(250), "250");
  EXPECT_EQ(short_number(1500), "1.5k");
  EXPECT_EQ(short_number(1234567), "1.2M");
  EXPECT_EQ(short_number(0.005), "0.005");
}

}  // namespace
}  // namespace sg
