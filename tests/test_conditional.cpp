// Class-conditional StyleGAN2: the networks take a class as
// stylegan2-ada-pytorch's do, unconditional ones keep the reference's keys,
// a conditional model trained briefly on discs and squares draws the class
// it is asked for, and a conditional run resumes exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "common/errors.hpp"
#include "datasets/dataset_card.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "model/core/drawing.hpp"
#include "model/core/state_dict_io.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/evaluation/evaluate.hpp"
#include "model/evaluation/export.hpp"
#include "model/evaluation/samples.hpp"
#include "model/stylegan2/checkpoint.hpp"
#include "model/stylegan2/sampling.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/trainer.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

stylegan2::Config small_config(int classes) {
  stylegan2::Config c;
  c.size = 16;
  c.max_channels = 16;
  c.image_channels = 1;
  c.style_dim = 16;
  c.n_mlp = 2;
  c.classes = classes;
  return c;
}

TEST(Conditional, NetworksTakeTheClassAndUnconditionalOnesKeepTheirKeys) {
  torch::manual_seed(0);
  stylegan2::Generator plain(small_config(0)), cond(small_config(3));
  stylegan2::Discriminator plain_d(small_config(0)), cond_d(small_config(3));
  auto has_key = [](torch::nn::Module& m, const std::string& prefix) {
    for (const auto& p : m.named_parameters())
      if (p.key().rfind(prefix, 0) == 0) return true;
    return false;
  };
  EXPECT_FALSE(has_key(*plain, "embed."));
  EXPECT_FALSE(has_key(*plain_d, "label_mapping."));
  EXPECT_TRUE(has_key(*cond, "embed."));
  EXPECT_TRUE(has_key(*cond_d, "label_mapping."));
  EXPECT_EQ(cond->style[0]->as<stylegan2::EqualLinear>()->weight.size(1), 32);  // z and the embedding side by side

  const torch::Tensor z = torch::randn({4, 16});
  const torch::Tensor labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
  const torch::Tensor w = cond->map(z, labels);
  // The same z with another class maps elsewhere; the same class the same.
  EXPECT_GT((w[0] - cond->map(z, torch::tensor({1, 1, 2, 0}, torch::kLong))[0]).abs().max().item<float>(), 1e-4);
  EXPECT_TRUE(torch::allclose(w[3], cond->map(z, labels)[3]));
  stylegan2::SynthesisOptions options;
  options.labels = labels;
  const torch::Tensor images = cond->forward({z}, options).image;
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{4, 1, 16, 16}));
  const torch::Tensor scores = cond_d->forward(images, labels);
  EXPECT_EQ(scores.sizes(), (std::vector<int64_t>{4, 1}));
  EXPECT_FALSE(torch::allclose(scores, cond_d->forward(images, torch::tensor({1, 2, 0, 1}, torch::kLong))));
  // No class, or one out of range: a clear refusal.
  EXPECT_THROW(cond->forward({z}), std::invalid_argument);
  options.labels = torch::tensor({0, 1, 3, 0}, torch::kLong);
  EXPECT_THROW(cond->forward({z}, options), std::invalid_argument);
  EXPECT_THROW(cond_d->forward(images), std::invalid_argument);
}

// Discs (class "disc") and squares ("square") at 8 and 16, RAW, with labels.
// Discs (label 0) and squares (1) in turn; `first_variant` shifts their
// positions, `swap_labels` labels each shape as the other.
void write_shapes_lmdb(const std::string& path, int per_class, int first_variant = 0, bool swap_labels = false) {
  LmdbWriter writer(path, {});
  std::vector<LmdbRecord> records;
  const uint64_t n = static_cast<uint64_t>(2 * per_class);
  for (uint64_t i = 0; i < n; ++i) {
    const bool square = i % 2 == 1;
    const Image8 slice = test::shape_slice(16, square, first_variant + static_cast<int>(i / 2));
    Image8 half(8, 8);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x)
        half.at(x, y) = static_cast<uint8_t>((slice.at(2 * x, 2 * y) + slice.at(2 * x + 1, 2 * y) +
                                              slice.at(2 * x, 2 * y + 1) + slice.at(2 * x + 1, 2 * y + 1) + 2) / 4);
    records.push_back({TRAIN, record_key(16, i), encode_record(slice, RAW, 1, 1)});
    records.push_back({TRAIN, record_key(8, i), encode_record(half, RAW, 1, 1)});
    records.push_back({TRAIN, label_key(i), square != swap_labels ? "1" : "0", RecordDatabase::Labels});
  }
  writer.write(records);
  DatasetMeta meta = describe_dataset({8, 16}, 1, RAW, {n, 0, 0});
  meta.add_class_names("disc");
  meta.add_class_names("square");
  for (SplitCount& count : *meta.mutable_counts()) {
    const uint64_t each = count.split() == TRAIN ? n / 2 : 0;
    count.add_class_records(each);
    count.add_class_records(each);
  }
  writer.finish(meta);
}

TrainOptions conditional_run(const std::string& lmdb, const std::string& out, int64_t iterations) {
  TrainOptions o;
  o.lmdb = lmdb;
  o.out = out;
  o.arch = Architecture::StyleGan2;
  o.conditional = true;
  o.schedule.max_size = 16;
  o.schedule.batch = 16;
  o.schedule.lr = 0.002;
  o.model.max_channels = 32;
  o.model.style_dim = 32;
  o.model.n_mlp = 2;
  o.loss = GanLoss::R1;
  o.r1_gamma = 1.0;
  o.regularization.d_every = 4;
  o.regularization.g_every = 4;
  o.mixing = false;
  o.mirror = false;
  o.max_iter = iterations;
  o.checkpoint_every = 100;
  o.sample_every = 0;
  o.log_every = 50;
  o.seed = 3;
  o.device = "cpu";
  return o;
}

// The nearest class mean of the training images: 100% on the data itself.
int nearest_class(const float* image, const std::vector<std::vector<float>>& means) {
  int best = 0;
  double best_distance = 1e300;
  for (size_t c = 0; c < means.size(); ++c) {
    double d = 0;
    for (size_t i = 0; i < means[c].size(); ++i) d += (image[i] - means[c][i]) * (image[i] - means[c][i]);
    if (d < best_distance) best_distance = d, best = static_cast<int>(c);
  }
  return best;
}

TEST(Conditional, ABrieflyTrainedModelDrawsTheClassItIsAskedFor) {
  TempDir dir;
  write_shapes_lmdb(dir / "shapes.lmdb", 48);
  const TrainResult run = train(conditional_run(dir / "shapes.lmdb", dir / "run", 600));
  const auto info = stylegan2::read_checkpoint_info(run.last_checkpoint);
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"disc", "square"}));
  EXPECT_EQ(info.config.classes, 2);

  // The class means in [-1, 1], from the data.
  std::vector<std::vector<float>> means(2, std::vector<float>(256, 0.f));
  for (int i = 0; i < 96; ++i) {
    const Image8 slice = test::shape_slice(16, i % 2 == 1, i / 2);
    for (int p = 0; p < 256; ++p) means[static_cast<size_t>(i % 2)][static_cast<size_t>(p)] += (slice.pixels[p] / 127.5f - 1.f) / 48;
  }
  for (int i = 0; i < 96; ++i) {
    const Image8 slice = test::shape_slice(16, i % 2 == 1, i / 2);
    std::vector<float> x(256);
    for (int p = 0; p < 256; ++p) x[static_cast<size_t>(p)] = slice.pixels[p] / 127.5f - 1.f;
    ASSERT_EQ(nearest_class(x.data(), means), i % 2);
  }

  stylegan2::Generator g(info.config);
  stylegan2::load_generator(run.last_checkpoint, g);
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  int right = 0;
  const int per_class = 100;
  for (int c = 0; c < 2; ++c) {
    stylegan2::SynthesisOptions options;
    options.labels = torch::full({per_class}, c, torch::kLong);
    const torch::Tensor images = g->forward({torch::randn({per_class, 32})}, options).image.contiguous();
    for (int i = 0; i < per_class; ++i) right += nearest_class(images[i].data_ptr<float>(), means) == c;
  }
  EXPECT_GE(right, 180) << "of 200 drawn images were of the class asked for";
  RecordProperty("drawn_of_the_asked_class", right);

  // sg_test --class: one class, every class, and a class it lacks.
  SampleOptions sample;
  sample.size = 16;
  sample.device = "cpu";
  sample.class_name = "square";
  EXPECT_TRUE(fs::exists(write_samples(run.last_checkpoint, dir / "square", sample, open_checkpoint).samples));
  const auto all = write_samples_per_class(run.last_checkpoint, dir / "all", sample, open_checkpoint);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(fs::exists(dir / "all/disc/sample_mixing.png"));
  EXPECT_TRUE(fs::exists(dir / "all/square/sample.png"));
  // Labelled synthetic data: the classes in turn, or one class; the labels
  // in the LMDB and the manifest, and the images of their labels' class.
  ExportOptions e;
  e.n = 20;
  e.size = 16;
  e.device = "cpu";
  e.format = ExportFormat::Lmdb;
  export_synthetic(run.last_checkpoint, dir / "synthetic.lmdb", e, open_checkpoint);
  // The checkpoint names the data it trained on; the export's card says it
  // is synthetic, from which generator and data, and how it was drawn.
  const std::string data_card = dataset_card_digest(*LmdbReader(dir / "shapes.lmdb").meta());
  EXPECT_EQ(checkpoint_data_card(run.last_checkpoint), data_card);
  {
    LmdbReader reader(dir / "synthetic.lmdb");
    ASSERT_TRUE(reader.meta()->has_synthetic());
    const SyntheticOrigin& origin = reader.meta()->synthetic();
    EXPECT_EQ(origin.data_card_digest(), data_card);
    EXPECT_EQ(origin.generator_digest(), "fnv1a64:" + reader.meta()->inputs_digest());
    EXPECT_EQ(origin.generator_digest().rfind("fnv1a64:", 0), 0u) << origin.generator_digest();
    EXPECT_EQ(origin.images(), 20u);
    EXPECT_EQ(origin.truncation(), 1.0);
    const std::string card = test::read_file(dir / "synthetic.lmdb/CARD.md");
    EXPECT_NE(card.find("**SYNTHETIC: every image here was drawn by a generator."), std::string::npos) << card;
    EXPECT_NE(card.find("| card of the data it trained on | " + data_card + " |"), std::string::npos) << card;
    EXPECT_NE(card.find("| train | 20 | 10 | 10 |"), std::string::npos) << card;
    EXPECT_EQ(card, dataset_card_markdown(*reader.meta(), dir / "synthetic.lmdb"));
    ASSERT_TRUE(reader.has_labels());
    EXPECT_EQ(reader.class_names(), (std::vector<std::string>{"disc", "square"}));
    const std::vector<int> labels = reader.labels(TRAIN);
    ASSERT_EQ(labels.size(), 20u);
    int agree = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      EXPECT_EQ(labels[i], static_cast<int>(i % 2));
      const Image8 image = decode_record(reader.record(TRAIN, 16, i), reader.encoding(), 16, 1, "r");
      std::vector<float> x(256);
      for (int p = 0; p < 256; ++p) x[static_cast<size_t>(p)] = image.pixels[static_cast<size_t>(p)] / 127.5f - 1.f;
      agree += nearest_class(x.data(), means) == labels[i];
    }
    EXPECT_GE(agree, 17);
  }
  e.format = ExportFormat::Png;
  e.class_name = "square";
  export_synthetic(run.last_checkpoint, dir / "squares", e, open_checkpoint);
  const std::string csv = test::read_file(dir / "squares/manifest.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "index,file,image_seed,class");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), 'q'), 20) << csv;  // "square" on every row
  EXPECT_NE(test::read_file(dir / "squares/manifest.json").find("\"class\": \"square\""), std::string::npos);
  EXPECT_NE(test::read_file(dir / "squares/manifest.json").find("\"training_data_card\": \"" + data_card + "\""),
            std::string::npos);
  const std::string squares_card = test::read_file(dir / "squares/CARD.md");
  EXPECT_NE(squares_card.find("| class | square |"), std::string::npos) << squares_card;
  EXPECT_NE(squares_card.find("| train | 20 | 0 | 20 |"), std::string::npos) << squares_card;

  // sg_eval per class: each class drawn against its own real images is
  // closer than against the other class's (the labels swapped).
  write_shapes_lmdb(dir / "swapped.lmdb", 48, 0, true);
  EvalOptions eval;
  eval.fake = run.last_checkpoint;
  eval.size = 16;
  eval.n = 96;
  eval.device = "cpu";
  eval.class_name = "all";
  eval.real = dir / "shapes.lmdb";
  const EvalReport right_classes = evaluate(eval, open_checkpoint);
  eval.real = dir / "swapped.lmdb";
  const EvalReport wrong_classes = evaluate(eval, open_checkpoint);
  ASSERT_EQ(right_classes.classes.size(), 2u);
  ASSERT_EQ(wrong_classes.classes.size(), 2u);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(right_classes.classes[c].compared_images, 48u);
    EXPECT_LT(1.2 * right_classes.classes[c].swd.average, wrong_classes.classes[c].swd.average)
        << right_classes.classes[c].class_name;
  }

  sample.class_name = "triangle";
  try {
    write_samples(run.last_checkpoint, dir / "x", sample, open_checkpoint);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has no class 'triangle' (its classes: disc, square)"), std::string::npos)
        << e.what();
  }
}

std::string eval_error(const EvalOptions& options) {
  try {
    evaluate(options, open_checkpoint);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Conditional, EvalComparesClassByClassAndNamesWhatItLacks) {
  TempDir dir;
  write_shapes_lmdb(dir / "real.lmdb", 40);
  write_shapes_lmdb(dir / "fake.lmdb", 40, 7);
  write_shapes_lmdb(dir / "fake_swapped.lmdb", 40, 7, true);
  EvalOptions o;
  o.real = dir / "real.lmdb";
  o.size = 16;
  o.n = 80;
  o.class_name = "all";
  o.fake = dir / "fake.lmdb";
  o.pairs_png = dir / "pairs.png";
  const EvalReport right = evaluate(o, open_checkpoint);
  o.fake = dir / "fake_swapped.lmdb";
  const EvalReport swapped = evaluate(o, open_checkpoint);
  // The whole sets hold the same images either way; class by class they differ.
  EXPECT_EQ(right.compared_images, 80u);
  EXPECT_DOUBLE_EQ(right.swd.average, swapped.swd.average);
  ASSERT_EQ(right.classes.size(), 2u);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(right.classes[c].class_name, c == 0 ? "disc" : "square");
    EXPECT_EQ(right.classes[c].compared_images, 40u);
    EXPECT_EQ(right.classes[c].memorization.train_images, 40u);
    EXPECT_LT(3 * right.classes[c].swd.average, swapped.classes[c].swd.average) << right.classes[c].class_name;
  }
  EXPECT_TRUE(fs::exists(dir / "pairs_disc.png"));
  EXPECT_TRUE(fs::exists(dir / "pairs_square.png"));
  const std::string json = report_json(right);
  EXPECT_NE(json.find("\"classes\": {\n    \"disc\": {"), std::string::npos) << json;
  EXPECT_NE(format_report(right).find("class square:"), std::string::npos);

  o.fake = dir / "fake.lmdb";
  o.class_name = "square";
  const EvalReport one = evaluate(o, open_checkpoint);
  EXPECT_EQ(one.class_name, "square");
  EXPECT_TRUE(one.classes.empty());
  EXPECT_DOUBLE_EQ(one.swd.average, right.classes[1].swd.average);

  o.class_name = "triangle";
  EXPECT_NE(eval_error(o).find("has no class 'triangle' (its classes: disc, square)"), std::string::npos)
      << eval_error(o);
  o.class_name = "all";
  fs::create_directories(dir / "pngs");
  write_png(dir / "pngs/a.png", test::shape_slice(16, false, 0));
  write_png(dir / "pngs/b.png", test::shape_slice(16, true, 0));
  o.fake = dir / "pngs";
  EXPECT_NE(eval_error(o).find("holds no class labels to compare class by class"), std::string::npos)
      << eval_error(o);
  o.fake = dir / "fake.lmdb";
  o.real = dir / "pngs";
  EXPECT_NE(eval_error(o).find("pngs: holds no class labels"), std::string::npos) << eval_error(o);
}

std::map<std::string, torch::Tensor> generator_weights(const std::string& checkpoint, bool raw) {
  stylegan2::Generator g(stylegan2::read_checkpoint_info(checkpoint).config);
  stylegan2::load_generator(checkpoint, g, raw);
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : g->named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

TEST(Conditional, ARunResumesExactlyAndNeedsLabels) {
  TempDir dir;
  write_shapes_lmdb(dir / "shapes.lmdb", 16);
  TrainOptions straight = conditional_run(dir / "shapes.lmdb", dir / "straight", 10);
  straight.checkpoint_every = 5;
  straight.model.max_channels = 8;
  const TrainResult a = train(straight);
  TrainOptions first = straight;
  first.out = dir / "split";
  first.max_iter = 5;
  train(first);
  TrainOptions second = straight;
  second.out = dir / "split";
  second.resume = dir / "split/checkpoints/000005.ckpt";
  const TrainResult b = train(second);
  for (bool raw : {false, true}) {
    auto wa = generator_weights(a.last_checkpoint, raw), wb = generator_weights(b.last_checkpoint, raw);
    ASSERT_EQ(wa.size(), wb.size());
    for (const auto& [key, value] : wa) EXPECT_TRUE(torch::equal(value, wb[key])) << key;
  }

  // An unconditional checkpoint cannot resume a conditional run, nor draw a class.
  TrainOptions plain = straight;
  plain.conditional = false;
  plain.out = dir / "plain";
  plain.max_iter = 2;
  const TrainResult p = train(plain);
  TrainOptions mixed = straight;
  mixed.out = dir / "mixed";
  mixed.resume = p.last_checkpoint;
  try {
    train(mixed);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("classes (--cond) 0 in the file, 2 here"), std::string::npos) << e.what();
  }
  SampleOptions sample;
  sample.size = 16;
  sample.device = "cpu";
  sample.class_name = "disc";
  EXPECT_THROW(write_samples(p.last_checkpoint, dir / "x", sample, open_checkpoint), InputError);

  // --cond on an LMDB without labels, or with StyleGAN (v1): one clear line.
  TrainOptions progressive = straight;
  progressive.arch = Architecture::StyleGan;
  progressive.out = dir / "v1";
  EXPECT_THROW(train(progressive), std::invalid_argument);
}

}  // namespace
}  // namespace sg
