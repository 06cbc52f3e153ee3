// sg_train as a library: a short real run writes checkpoints, samples, CSV
// and event files; a resumed run ends with the same weights as a straight
// one; bad inputs give clear errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "common/list_files.hpp"
#include "common/remove_tree.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/record_codec.hpp"
#include "model/core/state_dict_io.hpp"
#include "model/core/torch_file.hpp"
#include "model/evaluation/augment_sheet.hpp"
#include "model/evaluation/evaluate.hpp"
#include "model/evaluation/export.hpp"
#include "model/evaluation/samples.hpp"
#include "model/stylegan/checkpoint.hpp"
#include "model/stylegan/sampling.hpp"
#include "model/stylegan2/checkpoint.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/throughput.hpp"
#include "model/training/trainer.hpp"
#include "test_lmdb.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

using namespace stylegan;

namespace fs = std::filesystem;
using test::TempDir;

void write_tiny_lmdb(const std::string& path, int n = 48, bool random_mirror = true) {
  test::write_synthetic_lmdb(path, n, {8, 16}, random_mirror);
}

TrainOptions tiny_run(const std::string& lmdb, const std::string& out) {
  TrainOptions o;
  o.lmdb = lmdb;
  o.out = out;
  o.schedule.phase = 24;     // 8x8 for 7 iterations of 8, then a fade into 16x16
  o.schedule.batch = 8;
  o.model.max_channels = 8;
  o.model.style_dim = 16;
  o.mixing = true;
  o.sample_every = 5;
  o.checkpoint_every = 5;
  o.log_every = 1;
  o.sample_rows = 2;
  o.sample_cols = 3;
  o.seed = 5;
  o.device = "cpu";
  return o;
}

std::map<std::string, torch::Tensor> ema_weights(const std::string& checkpoint, const StyleGanConfig& config) {
  StyledGenerator g(config);
  load_ema_generator(checkpoint, g);
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : g->named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

TEST(Trainer, ShortRunWritesCheckpointsSamplesAndLogs) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o = tiny_run(dir / "d.lmdb", dir / "run");
  o.max_iter = 12;
  TrainResult r = train(o);
  EXPECT_EQ(r.iterations, 12);
  EXPECT_EQ(r.final_size, 16);  // grew from 8x8
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/train_step-2.ckpt"));
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/000010.ckpt"));
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/latest.ckpt"));
  EXPECT_TRUE(fs::exists(dir / "run/samples/000005.png"));
  EXPECT_TRUE(fs::exists(dir / "run/samples/000010.png"));
  // The readable grid: 16x16 tiles scaled to 64, a caption above; the raw one beside it.
  const Image8 readable = decode_png8(test::read_file(dir / "run/samples/000010.png"), "readable");
  const Image8 raw = decode_png8(test::read_file(dir / "run/samples/raw/000010.png"), "raw");
  EXPECT_EQ(raw.width, 3 * 18 + 2);
  EXPECT_EQ(readable.width, 3 * 66 + 2);
  EXPECT_GE(readable.height, 2 * 66 + 2);
  std::ifstream csv(dir / "run/log.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 13);  // header + 12
  std::vector<std::string> event_files;
  ASSERT_FALSE(list_files(dir / "run/tensorboard", Depth::top_level, event_files));
  ASSERT_EQ(event_files.size(), 1u);
  EXPECT_NE(event_files[0].find("tfevents"), std::string::npos);
  EXPECT_EQ(r.loss_plot, (dir.path() / "run/loss.png").string());
  EXPECT_EQ(test::read_file(r.loss_plot).substr(1, 3), "PNG");
  std::string gif = test::read_file(dir / "run/training.gif");
  EXPECT_EQ(gif.substr(0, 6), "GIF89a");
  EXPECT_NE(gif.find("NETSCAPE2.0"), std::string::npos);
}

TEST(Trainer, ResumeContinuesExactly) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions straight = tiny_run(dir / "d.lmdb", dir / "straight");
  straight.max_iter = 10;
  TrainResult a = train(straight);

  TrainOptions first = tiny_run(dir / "d.lmdb", dir / "split");
  first.max_iter = 5;  // before the growth at iteration 8
  train(first);
  TrainOptions second = tiny_run(dir / "d.lmdb", dir / "split");
  second.max_iter = 10;
  second.resume = dir / "split/checkpoints/000005.ckpt";
  TrainResult b = train(second);
  ASSERT_EQ(b.iterations, 10);

  StyleGanConfig config = read_checkpoint_meta(a.last_checkpoint).model;
  auto wa = ema_weights(a.last_checkpoint, config), wb = ema_weights(b.last_checkpoint, config);
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto& [key, value] : wa) EXPECT_TRUE(torch::equal(value, wb[key])) << key;
}

TrainOptions tiny_stylegan2_run(const std::string& lmdb, const std::string& out) {
  TrainOptions o = tiny_run(lmdb, out);
  o.arch = Architecture::StyleGan2;
  o.schedule.max_size = 16;
  o.schedule.lr = 0.002;
  o.model.n_mlp = 2;
  o.loss = GanLoss::R1;
  o.regularization.d_every = 4;  // lazy steps inside a 10-iteration run
  o.regularization.g_every = 2;
  return o;
}

// sg_test's path on a 16x16 StyleGAN2 checkpoint: a 1x2 sample grid.
bool draws_a_small_grid(const std::string& checkpoint, const std::string& out) {
  SampleOptions s;
  s.size = 16;
  s.rows = 1;
  s.cols = 2;
  s.device = "cpu";
  return !write_samples(checkpoint, out, s, open_checkpoint).samples.empty();
}

std::map<std::string, torch::Tensor> stylegan2_weights(const std::string& checkpoint, bool raw) {
  stylegan2::Generator g(stylegan2::read_checkpoint_info(checkpoint).config);
  stylegan2::load_generator(checkpoint, g, raw);
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : g->named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

TEST(Trainer, StyleGan2TrainsAtOneSizeWritesEverythingAndResumesExactly) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions straight = tiny_stylegan2_run(dir / "d.lmdb", dir / "straight");
  straight.max_iter = 10;
  const TrainResult a = train(straight);
  EXPECT_EQ(a.iterations, 10);
  EXPECT_EQ(a.final_size, 16);
  EXPECT_TRUE(fs::exists(dir / "straight/checkpoints/000005.ckpt"));
  EXPECT_FALSE(fs::exists(dir / "straight/checkpoints/train_step-2.ckpt"));  // no growth
  EXPECT_TRUE(fs::exists(dir / "straight/samples/000010.png"));
  EXPECT_EQ(test::read_file(dir / "straight/training.gif").substr(0, 6), "GIF89a");
  std::ifstream csv(dir / "straight/log.csv");
  std::string header, row;
  std::getline(csv, header);
  EXPECT_EQ(header, "iteration,images,size,alpha,lr,d_loss,g_loss,penalty,images_per_s,swd,path,path_length,path_mean");
  std::getline(csv, row);
  EXPECT_EQ(row.substr(0, 12), "1,8,16,1,0.0");  // size 16 at alpha 1 from the first iteration
  const auto info = stylegan2::read_checkpoint_info(a.last_checkpoint);
  EXPECT_EQ(info.config.size, 16);
  EXPECT_EQ(info.config.image_channels, 1);
  EXPECT_EQ(info.iteration, 10);

  TrainOptions first = tiny_stylegan2_run(dir / "d.lmdb", dir / "split");
  first.max_iter = 5;
  train(first);
  TrainOptions second = tiny_stylegan2_run(dir / "d.lmdb", dir / "split");
  second.max_iter = 10;
  second.resume = dir / "split/checkpoints/000005.ckpt";
  const TrainResult b = train(second);
  ASSERT_EQ(b.iterations, 10);
  for (bool raw : {false, true}) {
    auto wa = stylegan2_weights(a.last_checkpoint, raw), wb = stylegan2_weights(b.last_checkpoint, raw);
    ASSERT_EQ(wa.size(), wb.size());
    for (const auto& [key, value] : wa) EXPECT_TRUE(torch::equal(value, wb[key])) << (raw ? "g " : "g_ema ") << key;
  }
}

// The EMA does not feed back into training: the ramped g_ema and train.py's
// fixed one average the same generator, the ramped one nearer to it.
TEST(Trainer, StyleGan2EmaRampsUpUnlessTheReferenceDecayIsAsked) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  std::map<std::string, torch::Tensor> g[2], ema[2];
  for (int fixed = 0; fixed < 2; ++fixed) {
    TrainOptions o = tiny_stylegan2_run(dir / "d.lmdb", dir / ("run" + std::to_string(fixed)));
    o.max_iter = 6;
    o.ema.decay = stylegan2::reference_ema_decay();
    if (fixed) o.ema.rampup = 0;
    const std::string checkpoint = train(o).last_checkpoint;
    g[fixed] = stylegan2_weights(checkpoint, true);
    ema[fixed] = stylegan2_weights(checkpoint, false);
  }
  double ramped_gap = 0, fixed_gap = 0;
  for (const auto& [key, value] : g[0]) {
    EXPECT_TRUE(torch::equal(value, g[1][key])) << key;
    ramped_gap += (ema[0][key] - value).pow(2).sum().item<double>();
    fixed_gap += (ema[1][key] - value).pow(2).sum().item<double>();
  }
  EXPECT_GT(fixed_gap, 0.0);
  EXPECT_LT(ramped_gap, 0.5 * fixed_gap);
}

// The last row's augment_p and augment_r_t columns of a run's log.csv.
std::pair<double, double> last_augment_columns(const std::string& csv_path, std::string* header = nullptr) {
  std::ifstream csv(csv_path);
  std::string line, last;
  std::getline(csv, line);
  if (header) *header = line;
  while (std::getline(csv, line)) last = line;
  std::vector<std::string> cells;
  std::stringstream row(last);
  for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
  if (cells.size() < 2) return {-1, -1};
  return {std::stod(cells[cells.size() - 2]), std::stod(cells.back())};
}

double checkpoint_augment_p(const std::string& checkpoint) {
  const TorchFile file = read_torch_file(checkpoint);
  const PyValue* p = file.root->find("ada_aug_p");
  return p && p->is(PyValue::Kind::Float) ? p->real : -1;
}

TEST(Trainer, AugmentedRunsSteerPLogItAndResumeExactly) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  for (Architecture arch : {Architecture::StyleGan, Architecture::StyleGan2}) {
    const std::string name = architecture_name(arch);
    auto run = [&](const std::string& out, int64_t max_iter) {
      TrainOptions o = arch == Architecture::StyleGan ? tiny_run(dir / "d.lmdb", dir / out)
                                                      : tiny_stylegan2_run(dir / "d.lmdb", dir / out);
      o.max_iter = max_iter;
      o.augment.enabled = true;
      o.augment.every = 8;        // an adjustment per iteration
      o.augment.length = 200;     // of 8 / 200 = 0.04
      o.augment.target = -0.99;   // D is "overfitting" whenever any real scores above the bar: p climbs
      return o;
    };
    const TrainResult a = train(run(name + "-straight", 10));
    std::string header;
    const auto [p, r_t] = last_augment_columns(dir / (name + "-straight/log.csv"), &header);
    EXPECT_NE(header.find(",augment_p,augment_r_t"), std::string::npos) << name;
    EXPECT_GT(p, 0.1) << name;
    EXPECT_LT(p, 1.0) << name;
    EXPECT_GE(r_t, -1.0) << name;
    EXPECT_LE(r_t, 1.0) << name;
    EXPECT_NEAR(checkpoint_augment_p(a.last_checkpoint), p, 1e-5) << name;

    train(run(name + "-split", 5));
    TrainOptions second = run(name + "-split", 10);
    second.resume = dir / (name + "-split/checkpoints/000005.ckpt");
    const TrainResult b = train(second);
    EXPECT_EQ(checkpoint_augment_p(b.last_checkpoint), checkpoint_augment_p(a.last_checkpoint)) << name;
    if (arch == Architecture::StyleGan) {
      const StyleGanConfig config = read_checkpoint_meta(a.last_checkpoint).model;
      auto wa = ema_weights(a.last_checkpoint, config), wb = ema_weights(b.last_checkpoint, config);
      for (const auto& [key, value] : wa) EXPECT_TRUE(torch::equal(value, wb[key])) << name << " " << key;
    } else {
      auto wa = stylegan2_weights(a.last_checkpoint, true), wb = stylegan2_weights(b.last_checkpoint, true);
      for (const auto& [key, value] : wa) EXPECT_TRUE(torch::equal(value, wb[key])) << name << " " << key;
    }
  }
}

TEST(Trainer, AugmentationAtAFixedZeroTrainsAsWithoutIt) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions plain = tiny_run(dir / "d.lmdb", dir / "plain");
  plain.max_iter = 6;
  const TrainResult a = train(plain);
  TrainOptions zero = tiny_run(dir / "d.lmdb", dir / "zero");
  zero.max_iter = 6;
  zero.augment.enabled = true;
  zero.augment.fixed_p = 0.0;
  const TrainResult b = train(zero);
  const StyleGanConfig config = read_checkpoint_meta(a.last_checkpoint).model;
  auto wa = ema_weights(a.last_checkpoint, config), wb = ema_weights(b.last_checkpoint, config);
  for (const auto& [key, value] : wa) EXPECT_TRUE(torch::equal(value, wb[key])) << key;

  TrainOptions fixed = tiny_run(dir / "d.lmdb", dir / "fixed");
  fixed.max_iter = 6;
  fixed.augment.enabled = true;
  fixed.augment.fixed_p = 0.5;
  train(fixed);
  EXPECT_EQ(last_augment_columns(dir / "fixed/log.csv").first, 0.5);
  auto wc = ema_weights(dir / "fixed/checkpoints/latest.ckpt", config);
  bool differs = false;
  for (const auto& [key, value] : wa) differs |= !torch::equal(value, wc[key]);
  EXPECT_TRUE(differs);

  TrainOptions bad = tiny_run(dir / "d.lmdb", dir / "bad");
  bad.augment.enabled = true;
  bad.augment.fixed_p = 1.0;
  EXPECT_THROW(train(bad), std::invalid_argument);
}

TEST(AugmentSheet, ShowsEachRecordBesideItsAugmentation) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  AugmentSheetOptions o;
  o.size = 16;
  o.count = 8;
  o.columns = 2;
  o.p = 0;
  const Image8 plain = augment_sheet(dir / "d.lmdb", o);
  EXPECT_EQ(plain.width, 4 * (16 + 2) + 2);  // 2 pairs per row
  EXPECT_EQ(plain.height, 4 * (16 + 2) + 2);
  // At p 0 each pair's two tiles are the same record.
  auto tile = [](const Image8& sheet, int row, int column) {
    std::vector<uint8_t> pixels;
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) pixels.push_back(sheet.at(2 + column * 18 + x, 2 + row * 18 + y));
    return pixels;
  };
  for (int row = 0; row < 4; ++row) EXPECT_EQ(tile(plain, row, 0), tile(plain, row, 1));
  o.p = 0.9;
  const Image8 augmented = augment_sheet(dir / "d.lmdb", o);
  EXPECT_EQ(augmented, augment_sheet(dir / "d.lmdb", o));  // seeded
  int changed = 0;
  for (int row = 0; row < 4; ++row) {
    EXPECT_EQ(tile(augmented, row, 0), tile(plain, row, 0));
    changed += tile(augmented, row, 1) != tile(plain, row, 1);
  }
  EXPECT_GE(changed, 3);
  o.p = 1;
  EXPECT_THROW(augment_sheet(dir / "d.lmdb", o), std::invalid_argument);
  o.p = 0.5;
  o.size = 32;
  EXPECT_THROW(augment_sheet(dir / "d.lmdb", o), InputError);
}

TEST(SyntheticExport, ImagesDependOnSeedAndIndexOnlyAndRestart) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o = tiny_run(dir / "d.lmdb", dir / "run");
  o.max_iter = 12;  // grown to 16x16
  const TrainResult trained = train(o);
  TrainOptions o2 = tiny_stylegan2_run(dir / "d.lmdb", dir / "run2");
  o2.max_iter = 2;
  const TrainResult trained2 = train(o2);
  for (const std::string& checkpoint : {trained.last_checkpoint, trained2.last_checkpoint}) {
    ExportOptions e;
    e.size = 16;
    e.n = 7;
    e.seed = 4;
    e.truncation = 0.7;
    e.batch = 3;
    e.device = "cpu";
    const ExportResult a = export_synthetic(checkpoint, dir / "a", e, open_checkpoint);
    EXPECT_EQ(a.written, 7);
    e.batch = 5;
    export_synthetic(checkpoint, dir / "b", e, open_checkpoint);
    e.start_index = 4;
    const ExportResult c = export_synthetic(checkpoint, dir / "c", e, open_checkpoint);
    EXPECT_EQ(c.written, 3);
    for (int i = 0; i < 7; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "%06d.png", i);
      const std::string first = test::read_file(dir / ("a/" + std::string(name)));
      EXPECT_EQ(first, test::read_file(dir / ("b/" + std::string(name)))) << checkpoint << " " << name;
      EXPECT_EQ(fs::exists(dir / ("c/" + std::string(name))), i >= 4);
      if (i >= 4) {
        EXPECT_EQ(first, test::read_file(dir / ("c/" + std::string(name))));
      }
    }
    EXPECT_NE(test::read_file(dir / "a/000000.png"), test::read_file(dir / "a/000001.png"));
    std::ifstream csv(dir / "a/manifest.csv");
    std::string line;
    int rows = -1;
    while (std::getline(csv, line)) ++rows;
    EXPECT_EQ(rows, 7);
    EXPECT_NE(test::read_file(dir / "a/manifest.json").find("\"checkpoint_fnv1a64\""), std::string::npos);

    // The LMDB form: every size from 8, the same pixels as the PNGs.
    e.start_index = 0;
    e.format = ExportFormat::Lmdb;
    export_synthetic(checkpoint, dir / "s.lmdb", e, open_checkpoint);
    LmdbReader reader(dir / "s.lmdb");
    EXPECT_EQ(reader.sizes(), (std::vector<int>{8, 16}));
    EXPECT_EQ(reader.length(TRAIN), 7u);
    const Image8 record = decode_record(reader.record(TRAIN, 16, 2), reader.encoding(), 16, 1, record_key(16, 2));
    const std::string png = test::read_file(dir / "a/000002.png");
    EXPECT_EQ(record, decode_png8(png, "000002.png"));
    e.start_index = 3;
    EXPECT_THROW(export_synthetic(checkpoint, dir / "t.lmdb", e, open_checkpoint), std::invalid_argument);
    // Without truncation (sg_test --n's default).
    e.start_index = 0;
    e.format = ExportFormat::Png;
    e.truncation = 1.0;
    e.n = 2;
    EXPECT_EQ(export_synthetic(checkpoint, dir / "u", e, open_checkpoint).written, 2);
    ASSERT_FALSE(remove_tree(dir / "u"));
    // POSIX, not std::filesystem's walk (test_linkage says why).
    for (const char* made : {"a", "b", "c", "s.lmdb"}) ASSERT_FALSE(remove_tree(dir / made));
  }
}

TEST(Trainer, StyleGan2CheckpointsDrawAndEvaluateThroughTheSharedTools) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o = tiny_stylegan2_run(dir / "d.lmdb", dir / "run");
  o.max_iter = 3;
  const std::string checkpoint = train(o).last_checkpoint;
  SampleOptions s;
  s.size = 16;
  s.rows = 2;
  s.cols = 3;
  s.seed = 4;
  s.interpolate = 2;
  s.device = "cpu";
  const SampleResult a = write_samples(checkpoint, dir / "a", s, open_checkpoint);
  const SampleResult b = write_samples(checkpoint, dir / "b", s, open_checkpoint);
  for (const auto& [x, y] : {std::pair{a.samples, b.samples}, {a.mixing, b.mixing}, {a.interpolation, b.interpolation}}) {
    ASSERT_FALSE(x.empty());
    EXPECT_EQ(test::read_file(x), test::read_file(y)) << x;  // the same seed, the same pictures
  }
  s.seed = 5;
  EXPECT_NE(test::read_file(write_samples(checkpoint, dir / "c", s, open_checkpoint).samples), test::read_file(a.samples));
  s.size = 8;
  try {
    write_samples(checkpoint, dir / "d", s, open_checkpoint);
    ADD_FAILURE() << "a size the checkpoint was not trained at was drawn";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("draws its one size, 16x16"), std::string::npos) << e.what();
  }

  EvalOptions e;
  e.fake = checkpoint;
  e.real = dir / "d.lmdb";
  e.size = 16;
  e.n = 24;
  e.device = "cpu";
  const EvalReport report = evaluate(e, open_checkpoint);
  EXPECT_GT(report.swd.average, 0.0);
  EXPECT_NE(report.fake_kind.find("StyleGAN2"), std::string::npos) << report.fake_kind;
}

// --n_mlp: the mapping network's depth (StyleGAN2-ADA's small-data configs
// use 2) is what the checkpoint holds, what its readers draw with, and a
// resume with another depth is refused by name.
TEST(Trainer, StyleGan2MappingDepthIsTheCheckpointsAndItsReadersTakeIt) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o = tiny_stylegan2_run(dir / "d.lmdb", dir / "run");
  o.max_iter = 2;
  o.model.n_mlp = 3;  // the tiny runs have 2
  const std::string checkpoint = train(o).last_checkpoint;
  EXPECT_EQ(stylegan2::read_checkpoint_info(checkpoint).config.n_mlp, 3);
  const auto weights = stylegan2_weights(checkpoint, false);
  EXPECT_TRUE(weights.count("style.3.weight"));
  EXPECT_FALSE(weights.count("style.4.weight"));
  EXPECT_TRUE(draws_a_small_grid(checkpoint, dir / "grids"));
  TrainOptions shallower = tiny_stylegan2_run(dir / "d.lmdb", dir / "run");
  shallower.max_iter = 3;
  shallower.resume = checkpoint;
  try {
    train(shallower);
    ADD_FAILURE() << "a checkpoint with 3 mapping layers resumed into 2";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("--n_mlp 3 in the file, 2 here"), std::string::npos) << e.what();
  }
}

// --d_channels: the checkpoint keeps the discriminator's width, a resume
// must give the same, and the generator's readers never need it.
TEST(Trainer, StyleGan2DiscriminatorWidthIsTheCheckpointsAndResumeChecksIt) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o = tiny_stylegan2_run(dir / "d.lmdb", dir / "run");
  o.max_iter = 2;
  o.d_channels = 16;  // the tiny runs' generator has 8
  const std::string checkpoint = train(o).last_checkpoint;
  const auto info = stylegan2::read_checkpoint_info(checkpoint);
  EXPECT_EQ(info.config.max_channels, 8);
  EXPECT_EQ(info.config.discriminator_cap(), 16);
  EXPECT_NE(info.train_config.find("d_channels=16"), std::string::npos) << info.train_config;
  const TorchFile file = read_torch_file(checkpoint);
  const torch::Tensor* first = tensor_at(*file.root->find("d"), "convs.0.0.weight");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->size(0), 16);
  EXPECT_TRUE(draws_a_small_grid(checkpoint, dir / "grids"));

  TrainOptions resumed = tiny_stylegan2_run(dir / "d.lmdb", dir / "run");
  resumed.max_iter = 3;
  resumed.resume = checkpoint;
  resumed.d_channels = 16;
  EXPECT_EQ(train(resumed).iterations, 3);
  resumed.d_channels = 0;
  try {
    train(resumed);
    ADD_FAILURE() << "a checkpoint with a 16-wide discriminator resumed into an 8-wide one";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("--d_channels 16 in the file, 8 here"), std::string::npos) << e.what();
  }
  TrainOptions progressive = tiny_run(dir / "d.lmdb", dir / "progressive");
  progressive.max_iter = 1;
  progressive.d_channels = 16;
  EXPECT_THROW(train(progressive), std::invalid_argument);
}

TEST(Trainer, StyleGan2RefusesWhatDoesNotFit) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o = tiny_stylegan2_run(dir / "d.lmdb", dir / "run");
  o.max_iter = 1;
  o.schedule.max_size = 32;  // the LMDB holds 8 and 16
  try {
    train(o);
    ADD_FAILURE() << "a size the LMDB lacks was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("holds no 32x32 records, needed for --size (it has: 8 16)"), std::string::npos)
        << e.what();
  }
  o.schedule.max_size = 12;
  EXPECT_THROW(train(o), std::invalid_argument);
  o.schedule.max_size = 16;
  o.schedule.batch = 6;
  EXPECT_THROW(train(o), std::invalid_argument);
  // A StyleGAN checkpoint given to --arch stylegan2, and the other way round.
  TrainOptions progressive = tiny_run(dir / "d.lmdb", dir / "progressive");
  progressive.max_iter = 1;
  const TrainResult p = train(progressive);
  o.schedule.batch = 8;
  o.resume = p.last_checkpoint;
  try {
    train(o);
    ADD_FAILURE() << "a StyleGAN checkpoint was accepted by --arch stylegan2";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("give no --arch stylegan2"), std::string::npos) << e.what();
  }
  o.resume.clear();
  const TrainResult s2 = train(o);
  progressive.resume = s2.last_checkpoint;
  try {
    train(progressive);
    ADD_FAILURE() << "a StyleGAN2 checkpoint was accepted by the progressive trainer";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("give --arch stylegan2"), std::string::npos) << e.what();
  }
}

TEST(Trainer, AStopRequestSavesACheckpointAndReturns) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  std::atomic<bool> stop{true};  // as if Ctrl-C came at once
  TrainOptions o = tiny_run(dir / "d.lmdb", dir / "run");
  o.stop = &stop;
  TrainResult r = train(o);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_TRUE(fs::exists(r.last_checkpoint));
  EXPECT_TRUE(fs::exists(dir / "run/checkpoints/latest.ckpt"));
}

TEST(Trainer, DatasetConfigTurnsRandomMirroringOff) {
  // Same seed, mirroring asked for or not: the weights differ only where the
  // dataset allows random mirroring.
  auto final_weights = [](const std::string& lmdb, const std::string& out, bool mirror) {
    TrainOptions o = tiny_run(lmdb, out);
    o.max_iter = 3;
    o.mirror = mirror;
    TrainResult r = train(o);
    return ema_weights(r.last_checkpoint, read_checkpoint_meta(r.last_checkpoint).model);
  };
  auto same = [](std::map<std::string, torch::Tensor>& a, std::map<std::string, torch::Tensor>& b) {
    for (auto& [key, value] : a)
      if (!torch::equal(value, b[key])) return false;
    return true;
  };
  TempDir dir;
  write_tiny_lmdb(dir / "mirror.lmdb", 48, true);
  write_tiny_lmdb(dir / "fixed.lmdb", 48, false);
  auto m_on = final_weights(dir / "mirror.lmdb", dir / "a", true), m_off = final_weights(dir / "mirror.lmdb", dir / "b", false);
  auto f_on = final_weights(dir / "fixed.lmdb", dir / "c", true), f_off = final_weights(dir / "fixed.lmdb", dir / "d", false);
  EXPECT_FALSE(same(m_on, m_off));
  EXPECT_TRUE(same(f_on, f_off));
}

// bench_train's measurement: full iterations on LMDB batches, counted and
// converted with the reference's operation count.
TEST(Throughput, TimesFullIterationsOnLmdbBatches) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  LmdbReader reader(dir / "d.lmdb");
  ThroughputOptions o;
  o.width = 8;
  o.batch = 8;
  o.warmup_iterations = 1;
  o.min_iterations = 3;
  o.min_seconds = 0;
  o.device = "cpu";
  const ThroughputPoint p = measure_training_throughput(reader, 16, o);
  EXPECT_EQ(p.size, 16);
  EXPECT_EQ(p.batch, 8);
  EXPECT_GE(p.iterations, 3);
  EXPECT_GT(p.seconds, 0);
  EXPECT_NEAR(p.images_per_second, 8.0 * static_cast<double>(p.iterations) / p.seconds, 1e-9);
  EXPECT_DOUBLE_EQ(p.reference_gflop_per_image, 62);
  EXPECT_NEAR(p.tflop_per_second, p.images_per_second * 0.062, 1e-9);
  // Its own count: at width 8 a small fraction of the 512-wide reference's.
  EXPECT_GT(p.gflop_per_iteration, 0);
  EXPECT_LT(p.gflop_per_iteration, 0.01 * 62 * 8);
  EXPECT_NEAR(p.gflop_per_second, p.gflop_per_iteration * static_cast<double>(p.iterations) / p.seconds, 1e-9);
  o.synthetic = true;
  EXPECT_GE(measure_training_throughput(reader, 8, o).iterations, 3);
  // The --sched batch at 16x16 is 128, more than the 48 records.
  o.batch = 0;
  EXPECT_THROW(measure_training_throughput(reader, 16, o), InputError);
  o.batch = 8;
  EXPECT_THROW(measure_training_throughput(reader, 32, o), InputError);
}

TEST(Trainer, ClearErrors) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  TrainOptions o = tiny_run(dir / "d.lmdb", dir / "run");
  o.schedule.max_size = 64;
  try {
    train(o);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no 32x32 records"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("it has: 8 16"), std::string::npos) << e.what();
  }
  TrainOptions missing = tiny_run(dir / "nothing.lmdb", dir / "run");
  EXPECT_THROW(train(missing), InputError);

  // A checkpoint of a wider model names the mismatching shape.
  TrainOptions small = tiny_run(dir / "d.lmdb", dir / "small");
  small.max_iter = 2;
  TrainResult r = train(small);
  TrainOptions wide = tiny_run(dir / "d.lmdb", dir / "wide");
  wide.model.max_channels = 12;
  wide.resume = r.last_checkpoint;
  try {
    train(wide);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.what();
  }
  test::write_file(dir / "torn.ckpt", "PK\x03\x04 torn");
  TrainOptions torn = tiny_run(dir / "d.lmdb", dir / "torn");
  torn.resume = dir / "torn.ckpt";
  EXPECT_THROW(train(torn), InputError);
}

}  // namespace
}  // namespace sg
