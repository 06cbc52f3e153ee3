// sg_test as a library: grid geometry and range, style mixing that really
// mixes (coarse layout from the source, fine detail from the destination),
// seeds, size errors, and the demo chain prep -> train -> test at tiny size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "datasets/dataset_config.hpp"
#include "model/evaluation/samples.hpp"
#include "model/stylegan/sampling.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/trainer.hpp"
#include "pipeline/prep_graph.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

using namespace stylegan;

namespace fs = std::filesystem;
using test::TempDir;

// The coarse blocks (4x4, 8x8) take the source's style, the rest the
// destination's. Drawn at 8x8 (only coarse blocks), every cell of a column is
// exactly its source; drawn at 32x32 a cell is neither its source nor its
// destination, follows its source when only the source changes (and so on).
// On an untrained generator the low-pass correlation of whole images does not
// show the split (the last AdaIN sets each channel's mean), so the test
// checks the split itself.
TEST(Sampler, MixingTakesCoarseStylesFromTheSourceAndTheRestFromTheDestination) {
  torch::manual_seed(21);
  StyleGanConfig c;
  c.max_size = 32;
  c.max_channels = 16;
  c.image_channels = 1;
  c.style_dim = 16;
  StyledGenerator g(c);
  std::vector<torch::Tensor> noise;
  for (int i = 0; i <= 3; ++i) noise.push_back(torch::randn({1, 1, 4 << i, 4 << i}));
  auto mean_w = g->mean_style(torch::randn({256, 16}));
  const int rows = 3, cols = 4;
  auto sources = torch::randn({cols, 16}), destinations = torch::randn({rows, 16});
  auto cell = [&](const std::vector<torch::Tensor>& cells, int r, int col) { return cells[(r + 1) * (cols + 1) + col + 1]; };

  auto coarse = mixing_cells(g, sources, destinations, 1, 1.0, mean_w, 0.7, noise);
  ASSERT_EQ(coarse.size(), static_cast<size_t>((rows + 1) * (cols + 1)));
  for (int r = 0; r < rows; ++r)
    for (int col = 0; col < cols; ++col) EXPECT_TRUE(torch::allclose(cell(coarse, r, col), coarse[col + 1])) << r << col;

  auto full = mixing_cells(g, sources, destinations, 3, 1.0, mean_w, 0.7, noise);
  auto other_destinations = mixing_cells(g, sources, torch::randn({rows, 16}), 3, 1.0, mean_w, 0.7, noise);
  for (int r = 0; r < rows; ++r)
    for (int col = 0; col < cols; ++col) {
      auto x = cell(full, r, col);
      EXPECT_FALSE(torch::allclose(x, full[col + 1])) << "cell equals its source";
      EXPECT_FALSE(torch::allclose(x, full[(r + 1) * (cols + 1)])) << "cell equals its destination";
      EXPECT_FALSE(torch::allclose(x, cell(other_destinations, r, col))) << "destination did not matter";
    }
  // The top row and the corner do not depend on the destinations.
  for (int col = 0; col <= cols; ++col) EXPECT_TRUE(torch::equal(full[col], other_destinations[col]));
  EXPECT_EQ(full[0].min().item<float>(), -1.f);
  EXPECT_EQ(full[0].max().item<float>(), -1.f);
}

TEST(Sampler, DemoChainAtTinySizeWritesGridsAndRefusesUntrainedSizes) {
  const std::string colin = "/usr/share/mricron/templates/ch2bet.nii.gz";
  if (!fs::exists(colin)) GTEST_SKIP() << "mricron-data not installed";
  TempDir dir;
  DatasetConfig config = load_dataset_config(test::source_path("configs/demo.textproto"));
  config.mutable_pyramid()->clear_resolutions();
  for (int s : {8, 16}) config.mutable_pyramid()->add_resolutions(s);
  PrepOptions prep;
  prep.input = colin;
  prep.output = dir / "demo.lmdb";
  run_prep(config, prep);

  TrainOptions train_options;
  train_options.lmdb = dir / "demo.lmdb";
  train_options.out = dir / "run";
  train_options.schedule.phase = 32;
  train_options.schedule.batch = 8;
  train_options.model.max_channels = 8;
  train_options.model.style_dim = 16;
  train_options.mixing = true;
  train_options.sample_every = 4;
  train_options.device = "cpu";
  TrainResult trained = train(train_options);
  EXPECT_EQ(trained.final_size, 16);

  SampleOptions o;
  o.size = 16;
  o.rows = 2;
  o.cols = 3;
  o.seed = 4;
  o.interpolate = 3;
  o.device = "cpu";
  SampleResult a = write_samples(trained.last_checkpoint, dir / "a", o, open_checkpoint);
  Image8 samples = decode_png8(test::read_file(a.samples), "sample.png");
  // 16x16 tiles shown at 64x64, a 2-pixel mid-grey separator.
  EXPECT_EQ(samples.width, 3 * (64 + 2) + 2);
  EXPECT_EQ(samples.height, 2 * (64 + 2) + 2);
  EXPECT_EQ(samples.channels, 1);               // grey checkpoint, grey PNG
  // Pixel range: clamped [-1, 1] mapped to 0..255 and really used; padding grey.
  auto [lo, hi] = std::minmax_element(samples.pixels.begin(), samples.pixels.end());
  EXPECT_EQ(*lo, 0);
  EXPECT_GT(*hi, 100);
  EXPECT_EQ(samples.at(0, 0), 128);
  EXPECT_EQ(samples.at(samples.width - 1, 9), 128);
  // Each drawn pixel a 4x4 block.
  EXPECT_EQ(samples.at(2, 2), samples.at(5, 5));
  EXPECT_EQ(samples.at(6, 2), samples.at(9, 5));
  Image8 mixing = decode_png8(test::read_file(a.mixing), "sample_mixing.png");
  EXPECT_EQ(mixing.width, 4 * 66 + 2);
  EXPECT_EQ(mixing.height, 3 * 66 + 2);
  EXPECT_EQ(mixing.at(2 + 32, 2 + 32), 0);      // the black corner
  EXPECT_EQ(test::read_file(a.interpolation).substr(0, 6), "GIF89a");
  // Same seed, same pictures; another seed, others.
  SampleResult b = write_samples(trained.last_checkpoint, dir / "b", o, open_checkpoint);
  EXPECT_EQ(test::read_file(a.samples), test::read_file(b.samples));
  EXPECT_EQ(test::read_file(a.mixing), test::read_file(b.mixing));
  o.seed = 5;
  SampleResult c = write_samples(trained.last_checkpoint, dir / "c", o, open_checkpoint);
  EXPECT_NE(test::read_file(a.samples), test::read_file(c.samples));
  o.size = 32;
  try {
    write_samples(trained.last_checkpoint, dir / "d", o, open_checkpoint);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("trained to sizes 8, 16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sg
