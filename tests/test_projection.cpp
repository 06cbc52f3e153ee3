// sg_project (issue #30): the similarity measures against their closed
// forms, an image the generator drew recovered far better than a real one
// (both architectures), the latent file read back and drawn bit for bit,
// LPIPS through a TorchScript file with vgg16.pt's signature, an LMDB split
// scored, and bad targets refused in one line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "model/core/drawing.hpp"
#include "model/evaluation/image_set.hpp"
#include "model/evaluation/phantoms.hpp"
#include "model/projection/image_similarity.hpp"
#include "model/projection/latent_file.hpp"
#include "model/projection/projection_run.hpp"
#include "model/projection/projector.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/trainer.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::ProgramRun;

TEST(ImageSimilarity, SsimOfFlatImagesIsItsLuminanceTermAndOneForEqualImages) {
  // Flat images: no variance, so SSIM is (2ab + C1) / (a^2 + b^2 + C1) of their [0, 1] levels.
  const torch::Tensor a = torch::full({1, 1, 16, 16}, 2 * 0.3 - 1), b = torch::full({1, 1, 16, 16}, 2 * 0.6 - 1);
  const double c1 = 1e-4, expected = (2 * 0.3 * 0.6 + c1) / (0.09 + 0.36 + c1);
  EXPECT_NEAR(ssim(a, b).item<double>(), expected, 2e-4);  // float round-off of E[x^2] - E[x]^2
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({2, 1, 32, 32}) * 2 - 1;
  EXPECT_NEAR(ssim(x, x).min().item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(ms_ssim(x, x).min().item<double>(), 1.0, 1e-5);
  // More noise, less similar; tiny images still work.
  const torch::Tensor noise = torch::randn({2, 1, 32, 32});
  EXPECT_GT(ms_ssim(x, x + 0.05 * noise).min().item<double>(), ms_ssim(x, x + 0.3 * noise).max().item<double>());
  EXPECT_TRUE(std::isfinite(ms_ssim(x.narrow(2, 0, 4).narrow(3, 0, 4), x.narrow(2, 4, 4).narrow(3, 4, 4)).sum().item<double>()));
}

TEST(ImageSimilarity, NoisePenaltyIsSmallForWhiteNoiseAndLargeForStructure) {
  torch::manual_seed(2);
  const torch::Tensor white = torch::randn({1, 1, 32, 32});
  const torch::Tensor smooth = torch::linspace(-2, 2, 32).view({1, 1, 1, 32}).expand({1, 1, 32, 32}).contiguous();
  EXPECT_LT(noise_regularization({white}).item<double>(), 0.01);
  EXPECT_GT(noise_regularization({smooth}).item<double>(), 1.0);
}

TEST(ImageSimilarity, LearningRateRampsUpAndDown) {
  ProjectionOptions o;
  EXPECT_EQ(projection_learning_rate(o, 0), 0.0);
  EXPECT_NEAR(projection_learning_rate(o, 500), 0.1, 1e-12);
  EXPECT_LT(projection_learning_rate(o, 990), 0.01);
}

// A few iterations of a tiny generator: enough structure to tell its own
// images from real ones.
std::string tiny_checkpoint(const TempDir& dir, Architecture arch) {
  const std::string lmdb = dir / "real.lmdb";
  if (!fs::exists(lmdb)) write_image_lmdb(lmdb, synthetic_phantoms(16, 16, 1));
  TrainOptions t;
  t.lmdb = lmdb;
  t.out = dir / (arch == Architecture::StyleGan2 ? "run2" : "run1");
  t.arch = arch;
  t.schedule.init_size = 16;
  t.schedule.max_size = 16;
  t.schedule.batch = 4;
  t.model.max_channels = 16;
  t.model.style_dim = 16;
  t.model.n_mlp = 2;
  t.sample_every = 0;
  t.checkpoint_every = 0;
  t.max_iter = 6;
  t.device = "cpu";
  return train(t).last_checkpoint;
}

std::unique_ptr<CheckpointDrawer> open_cpu(const std::string& checkpoint) {
  DrawRequest request;
  request.device = "cpu";
  return open_checkpoint(checkpoint, request);
}

double projected_mse(CheckpointDrawer& g, const torch::Tensor& target, int steps, Projection* out = nullptr) {
  ProjectionOptions o;
  o.steps = steps;
  const WStatistics w = measure_w(g, 0);
  const ProjectionLoss loss(target, nullptr);
  const Projection p = project(g, w, target, loss, o);
  if (out) *out = p;
  return (p.image.clamp(-1, 1) - target).square().mean().item<double>();
}

class Projector : public ::testing::TestWithParam<Architecture> {};

TEST_P(Projector, RecoversAnImageTheGeneratorDrewFarBetterThanARealOne) {
  TempDir dir;
  const std::unique_ptr<CheckpointDrawer> g = open_cpu(tiny_checkpoint(dir, GetParam()));
  const torch::Tensor drawn = g->seeded_images(7, 1.0)(1).to(torch::kFloat) / 127.5 - 1;
  const torch::Tensor real = synthetic_phantoms(1, 16, 9).to(torch::kFloat) / 127.5 - 1;
  Projection p;
  const double own = projected_mse(*g, drawn, 300, &p), other = projected_mse(*g, real, 300);
  EXPECT_LT(own, 0.25 * other) << "own " << own << ", real " << other;
  ASSERT_EQ(p.w_plus.size(1), g->w_plus_rows());
  EXPECT_EQ(p.noise.size(), g->noise_sizes().size());

  // The latent file round-trips and draws the reconstruction bit for bit.
  LatentFile l;
  l.w_plus = p.w_plus;
  l.noise = p.noise;
  l.architecture = g->architecture();
  l.size = 16;
  l.loss = "mse+ms-ssim";
  l.checkpoint = "c.ckpt";
  l.targets = {"drawn"};
  write_latent_file(dir / "latents.pt", l);
  const LatentFile back = read_latent_file(dir / "latents.pt");
  EXPECT_TRUE(torch::equal(back.w_plus, l.w_plus));
  ASSERT_EQ(back.noise.size(), l.noise.size());
  for (size_t i = 0; i < l.noise.size(); ++i) EXPECT_TRUE(torch::equal(back.noise[i], l.noise[i]));
  EXPECT_EQ(back.targets, l.targets);
  EXPECT_EQ(back.architecture, l.architecture);
  EXPECT_TRUE(torch::equal(to_uint8_images(draw_latents(*g, back, "latents.pt")), to_uint8_images(p.image)));
  // Latents of another shape are named, not drawn.
  LatentFile wrong = back;
  wrong.size = 32;
  EXPECT_THROW(draw_latents(*g, wrong, "latents.pt"), InputError);
  wrong = back;
  wrong.w_plus = wrong.w_plus.narrow(1, 0, 1);
  EXPECT_THROW(draw_latents(*g, wrong, "latents.pt"), InputError);
}

INSTANTIATE_TEST_SUITE_P(BothArchitectures, Projector,
                         ::testing::Values(Architecture::StyleGan, Architecture::StyleGan2),
                         [](const auto& info) { return std::string(architecture_name(info.param)); });

// The rest on one StyleGAN2 generator.
class ProjectionRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    checkpoint_ = new std::string(tiny_checkpoint(*dir_, Architecture::StyleGan2));
  }
  static void TearDownTestSuite() {
    delete checkpoint_;
    delete dir_;
  }
  static ProjectRequest request(const std::string& target, const std::string& out) {
    ProjectRequest r;
    r.checkpoint = *checkpoint_;
    r.target = target;
    r.out = *dir_ / out;
    r.device = "cpu";
    r.options.steps = 20;
    r.options.frame_every = 5;
    return r;
  }
  static std::string write_png_file(const std::string& name, const Image8& image) {
    const std::string path = *dir_ / name;
    test::write_file(path, encode_png(image, 1));
    return path;
  }
  static TempDir* dir_;
  static std::string* checkpoint_;
};
TempDir* ProjectionRun::dir_ = nullptr;
std::string* ProjectionRun::checkpoint_ = nullptr;

TEST_F(ProjectionRun, APngGivesLatentsReconstructionResidualAndProgress) {
  const std::string png = write_png_file("slice.png", test::synthetic_slice(16, 16, 3));
  const ProjectReport report = run_projection(request(png, "one"), open_checkpoint);
  EXPECT_EQ(report.images, 1);
  EXPECT_EQ(report.loss_name, "mse+ms-ssim");
  for (const char* file : {"latents.pt", "target.png", "reconstruction.png", "residual.png", "panel.png", "progress.gif"})
    EXPECT_TRUE(fs::exists(*dir_ / (std::string("one/") + file))) << file;
  EXPECT_GT(report.mse, 0.0);
  EXPECT_LE(report.ssim, 1.0);
  // sg_test --latents draws what sg_project reconstructed.
  const LatentDrawing drawn = write_latent_images(*checkpoint_, report.latents, *dir_ / "drawn", 16, "cpu", open_checkpoint);
  EXPECT_EQ(drawn.images, 1);
  EXPECT_EQ(test::read_file(*dir_ / "drawn/latent_00000.png"), test::read_file(*dir_ / "one/reconstruction.png"));
  EXPECT_THROW(write_latent_images(*checkpoint_, report.latents, *dir_ / "drawn32", 32, "cpu", open_checkpoint), InputError);
  // Python's torch.load reads the file.
  const std::string command = "/usr/bin/python3 -c \"import torch; d = torch.load('" + report.latents +
                              "'); assert d['w_plus'].shape[0] == 1 and d['format'] == 'sg-latents'\"";
  const int raw = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0);
}

TEST_F(ProjectionRun, AnLmdbSplitIsScoredImageByImage) {
  ProjectRequest r = request(*dir_ / "real.lmdb:train", "split");
  r.limit = 3;
  const ProjectReport report = run_projection(r, open_checkpoint);
  EXPECT_EQ(report.images, 3);
  std::ifstream csv(report.csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(csv, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "index,record,mse,mae,ssim,mse+ms-ssim");
  EXPECT_EQ(lines[1].rfind("0,16-00000,", 0), 0u) << lines[1];
  EXPECT_TRUE(fs::exists(*dir_ / "split/panels/00002.png"));
  EXPECT_EQ(read_latent_file(report.latents).w_plus.size(0), 3);
}

TEST_F(ProjectionRun, LpipsThroughAVgg16SignatureAndRefusedWithoutOne) {
  const std::string log = *dir_ / "python.log";
  const std::string command = "/usr/bin/python3 " + test::source_path("tests/python/lpips_standin.py") + " '" +
                              dir_->path().string() + "' > '" + log + "' 2>&1";
  const int raw = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0) << test::read_file(log);
  const std::string png = write_png_file("lpips.png", test::synthetic_slice(16, 16, 4));
  ProjectRequest r = request(png, "lpips");
  r.vgg = *dir_ / "lpips.pt";
  r.options.steps = 60;
  const ProjectReport report = run_projection(r, open_checkpoint);
  EXPECT_EQ(report.loss_name, "lpips");
  EXPECT_EQ(read_latent_file(report.latents).loss, "lpips");
  // The distance is the stand-in's: 1 - cosine of pooled pixels, times 2.
  const torch::Tensor target = read_target_png(png, 16, 1), image = draw_latents(*open_cpu(*checkpoint_), read_latent_file(report.latents), "x").clamp(-1, 1);
  auto pooled = [](const torch::Tensor& x) {
    const torch::Tensor f = torch::avg_pool2d((x + 1) * 127.5 / 255.0, 2).flatten(1);
    return f / f.norm(2, 1, true);
  };
  EXPECT_NEAR(report.loss, (pooled(target) - pooled(image)).square().sum().item<double>(), 1e-4);
  r.vgg = *dir_ / "no_lpips.pt";
  r.out = *dir_ / "no_lpips";
  try {
    run_projection(r, open_checkpoint);
    FAIL() << "a network without return_lpips was taken";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("return_lpips"), std::string::npos) << e.what();
  }
}

TEST_F(ProjectionRun, FixedNoiseStaysAndThePriorKeepsWNearTheMean) {
  const std::unique_ptr<CheckpointDrawer> g = open_cpu(*checkpoint_);
  const torch::Tensor target = synthetic_phantoms(1, 16, 5).to(torch::kFloat) / 127.5 - 1;
  const WStatistics w = measure_w(*g, 0);
  const ProjectionLoss loss(target, nullptr);
  ProjectionOptions o;
  o.steps = 60;
  const Projection free = project(*g, w, target, loss, o);
  o.optimize_noise = false;
  const Projection fixed = project(*g, w, target, loss, o);
  // The same seeded start; only the optimised maps move.
  torch::Generator rng = at::detail::createCPUGenerator(o.seed);
  for (size_t i = 0; i < fixed.noise.size(); ++i) {
    const int64_t s = fixed.noise[i].size(2);
    EXPECT_TRUE(torch::equal(fixed.noise[i], torch::randn({1, 1, s, s}, rng))) << i;
    EXPECT_FALSE(torch::equal(free.noise[i], fixed.noise[i])) << i;
  }
  o.w_prior = 100;
  const Projection held = project(*g, w, target, loss, o);
  auto distance = [&](const Projection& p) {
    return (p.w_plus - w.mean.cpu().unsqueeze(1)).square().sum(2).mean().item<double>();
  };
  EXPECT_LT(distance(held), 0.5 * distance(fixed)) << distance(held) << " vs " << distance(fixed);
}

TEST_F(ProjectionRun, BadTargetsAreOneClearLine) {
  auto refused = [&](const std::string& target, const std::string& words) {
    try {
      run_projection(request(target, "bad"), open_checkpoint);
      ADD_FAILURE() << target << " was taken";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  refused(write_png_file("big.png", test::synthetic_slice(32, 32, 1)), "is 32x32; the checkpoint draws 16x16");
  Image8 rgb(16, 16, 3);
  refused(write_png_file("rgb.png", rgb), "has 3 channels (RGB); the checkpoint draws grey images");
  test::write_file(*dir_ / "text.png", "not a picture");
  refused(*dir_ / "text.png", "not a PNG image");
  refused(*dir_ / "real.lmdb:holdout", "unknown split \"holdout\"");
  refused(*dir_ / "missing.png", "no such file");
  refused(*dir_ / "real.lmdb:test", "split is empty");
  EXPECT_FALSE(fs::exists(*dir_ / "bad/latents.pt"));  // nothing written for a refused target

  // The program: one line, exit 1.
  const ProgramRun run = test::run_program({test::program_path("sg_project"), *checkpoint_, "--target",
                                                  *dir_ / "big.png", "--out", *dir_ / "bad-cli", "--threads", "1"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "sg_project: error: " + (*dir_ / "big.png") + ": is 32x32; the checkpoint draws 16x16 (sg_prep writes every size; or resize it)\n");
}

}  // namespace
}  // namespace sg
