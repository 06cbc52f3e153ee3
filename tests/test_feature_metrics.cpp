// FID, KID and precision/recall on network features (issue #28) against the
// formulas as stylegan2-ada-pytorch computes them, in Python with NumPy and
// scipy.linalg.sqrtm (tests/python/feature_metrics_reference.py), on the
// same fixed images through the same TorchScript stand-ins made by Debian's
// python3-torch with Inception's call signature.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "common/errors.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "model/core/drawing.hpp"
#include "model/core/torch_file.hpp"
#include "model/evaluation/feature_evaluation.hpp"
#include "model/evaluation/feature_metrics.hpp"
#include "model/evaluation/feature_network.hpp"
#include "model/evaluation/image_set.hpp"
#include "test_util.hpp"

namespace {

using namespace sg;
namespace fs = std::filesystem;
using test::TempDir;

// The Python side's files, made once for the suite.
class FeatureMetrics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string log = *dir_ / "python.log";
    const std::string command = "/usr/bin/python3 " + test::source_path("tests/python/feature_metrics_reference.py") +
                                " '" + dir_->path().string() + "' > '" + log + "' 2>&1";
    const int raw = std::system(command.c_str());
    python_ok_ = WIFEXITED(raw) && WEXITSTATUS(raw) == 0;
    python_log_ = test::read_file(log);
    if (python_ok_) expected_ = new TorchFile(read_torch_file(*dir_ / "expected.pt"));
  }
  static void TearDownTestSuite() {
    delete expected_;
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(python_ok_) << python_log_; }

  static std::string file(const std::string& name) { return *dir_ / name; }
  static torch::Tensor tensor(const std::string& key) {
    const PyValue* value = expected_->root->find(key);
    EXPECT_TRUE(value && value->is(PyValue::Kind::Tensor)) << key;
    return value->tensor;
  }
  static double number(const std::string& key) {
    const PyValue* value = expected_->root->find(key);
    EXPECT_TRUE(value && value->is(PyValue::Kind::Float)) << key;
    return value->real;
  }

  static TempDir* dir_;
  static bool python_ok_;
  static std::string python_log_;
  static TorchFile* expected_;
};

TempDir* FeatureMetrics::dir_ = nullptr;
bool FeatureMetrics::python_ok_ = false;
std::string FeatureMetrics::python_log_;
TorchFile* FeatureMetrics::expected_ = nullptr;

void expect_relative(double actual, double expected, double tolerance, const std::string& what) {
  EXPECT_LE(std::abs(actual - expected), tolerance * std::max(1e-12, std::abs(expected)))
      << what << ": " << actual << " vs " << expected;
}

FeatureKind kind_of(const std::string& name) {
  return name == "inception" ? FeatureKind::Inception : name == "vgg" ? FeatureKind::Vgg : FeatureKind::Custom;
}

TEST_F(FeatureMetrics, FeaturesAreThePythonCallsOnGreyImagesReplicatedToRgb) {
  for (const std::string name : {"inception", "vgg", "custom"}) {
    FeatureNetwork network(file(name + ".pt"), kind_of(name), torch::kCPU);
    for (const std::string set : {"real", "generated"}) {
      const torch::Tensor ours = network.features(tensor(set));
      const torch::Tensor theirs = tensor(name + "_" + set);
      ASSERT_EQ(ours.sizes(), theirs.sizes()) << name;
      EXPECT_TRUE(torch::allclose(ours, theirs, 1e-5, 1e-6)) << name << " " << set;
    }
  }
}

TEST_F(FeatureMetrics, FidKidPrAndDensityCoverageEqualNumpyAndScipyOnTheSameFeatures) {
  for (const std::string name : {"inception", "vgg", "custom"}) {
    const torch::Tensor real = tensor(name + "_real"), generated = tensor(name + "_generated");
    FeatureMoments a, b;
    a.add(generated.slice(0, 0, 100));  // in two parts: the running sums
    a.add(generated.slice(0, 100));
    b.add(real);
    expect_relative(frechet_distance(a, b), number(name + "_fid"), 1e-4, name + " FID");
    // One subset of every row: KID's draw cannot change it.
    expect_relative(kernel_inception_distance(generated, real, 1000, 1, 5), number(name + "_kid"), 1e-4, name + " KID");
    expect_relative(kernel_inception_distance(generated, real, 1000, 3, 9), number(name + "_kid"), 1e-4, name + " KID");
    const PrecisionRecall pr = knn_precision_recall(real, generated, 3);
    expect_relative(pr.precision, number(name + "_precision"), 1e-9, name + " precision");
    expect_relative(pr.recall, number(name + "_recall"), 1e-9, name + " recall");
    const DensityCoverage dc = knn_density_coverage(real, generated, 5);
    expect_relative(dc.density, number(name + "_density"), 1e-9, name + " density");
    expect_relative(dc.coverage, number(name + "_coverage"), 1e-9, name + " coverage");
  }
}

TEST_F(FeatureMetrics, IdenticalSetsScoreZero) {
  const torch::Tensor real = tensor("inception_real");
  FeatureMoments a, b;
  a.add(real);
  b.add(real);
  EXPECT_NEAR(frechet_distance(a, b), 0.0, 1e-6 * a.covariance().trace().item<double>());
  const PrecisionRecall pr = knn_precision_recall(real, real, 3);
  EXPECT_EQ(pr.precision, 1.0);
  EXPECT_EQ(pr.recall, 1.0);
  // Two different sets do not.
  FeatureMoments c;
  c.add(tensor("inception_generated"));
  EXPECT_GT(frechet_distance(c, b), 1.0);
}

TEST_F(FeatureMetrics, KidOnSmallSubsetsDependsOnTheDrawAndAveragesNearTheFullValue) {
  const torch::Tensor real = tensor("inception_real"), generated = tensor("inception_generated");
  const double one = kernel_inception_distance(generated, real, 50, 1, 1);
  const double other = kernel_inception_distance(generated, real, 50, 1, 2);
  EXPECT_NE(one, other);
  expect_relative(kernel_inception_distance(generated, real, 50, 400, 3), number("inception_kid"), 0.1, "mean KID");
}

TEST_F(FeatureMetrics, GeneratedImagesAreQuantisedAsStylegan2AdaPytorchDoes) {
  const torch::Tensor in = tensor("quantise_in");
  const torch::Tensor ours = to_uint8_images(in.view({1, 1, 1, -1})).flatten();
  EXPECT_TRUE(torch::equal(ours, tensor("quantise_out")));
}

TEST_F(FeatureMetrics, AMissingFileNamesWhatToDownload) {
  ::unsetenv("SG_INCEPTION");
  try {
    resolve_feature_file(FeatureKind::Inception, "", "--metrics fid");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("inception-2015-12-05.pt"), std::string::npos) << what;
    EXPECT_NE(what.find("--inception"), std::string::npos) << what;
    EXPECT_NE(what.find("SG_INCEPTION"), std::string::npos) << what;
  }
  try {
    resolve_feature_file(FeatureKind::Vgg, file("no-such.pt"), "--metrics pr");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no-such.pt"), std::string::npos) << what;
    EXPECT_NE(what.find("vgg16.pt"), std::string::npos) << what;
  }
  ::setenv("SG_VGG", file("vgg.pt").c_str(), 1);
  EXPECT_EQ(resolve_feature_file(FeatureKind::Vgg, "", "--metrics pr"), file("vgg.pt"));
  ::unsetenv("SG_VGG");
}

TEST_F(FeatureMetrics, AFileThatIsNoFeatureNetworkIsOneClearError) {
  test::write_file(file("garbage.pt"), "not a zip at all");
  EXPECT_THROW(FeatureNetwork(file("garbage.pt"), FeatureKind::Inception, torch::kCPU), InputError);
  // torch.save's file of tensors is no TorchScript module either.
  EXPECT_THROW(FeatureNetwork(file("expected.pt"), FeatureKind::Inception, torch::kCPU), InputError);
  // A TorchScript module that gives no [n, d] features.
  FeatureNetwork wrong(file("no_features.pt"), FeatureKind::Custom, torch::kCPU);
  EXPECT_THROW(wrong.features(tensor("real")), InputError);
}

// A grey LMDB of the given images with an inputs digest (cacheable).
void write_lmdb(const std::string& path, const torch::Tensor& images, const std::string& digest) {
  LmdbWriter writer(path, {});
  std::vector<LmdbRecord> records;
  const int size = static_cast<int>(images.size(2));
  for (int64_t i = 0; i < images.size(0); ++i) {
    const Image8 image = uint8_to_images(images.slice(0, i, i + 1))[0];
    records.push_back({TRAIN, record_key(size, static_cast<uint64_t>(i)), encode_record(image, RAW, 1, 1)});
  }
  writer.write(records);
  DatasetMeta meta = describe_dataset({size}, 1, RAW, {static_cast<uint64_t>(images.size(0)), 0, 0});
  meta.set_inputs_digest(digest);
  writer.finish(meta);
}

TEST_F(FeatureMetrics, EvaluationStreamsGeneratedBatchesAndCachesRealFeatures) {
  const std::string lmdb = file("real.lmdb");
  write_lmdb(lmdb, tensor("real"), "fnv1a64:test");
  const auto real = ImageCollection::open(lmdb, 16);
  FeatureMetricOptions o;
  o.fid = o.kid = o.pr = true;
  o.inception = file("inception.pt");
  o.vgg = file("vgg.pt");
  o.features = file("custom.pt");
  o.kid_subsets = 2;
  o.cache_dir = file("cache");
  FeatureRun run;
  run.real = real.get();
  run.generated = 260;
  run.batch = 37;  // batches that do not divide the set
  run.device = "cpu";
  const torch::Tensor generated = tensor("generated");
  for (int pass = 0; pass < 2; ++pass) {
    int64_t next = 0;
    const auto reports = evaluate_features(o, run, [&](int64_t count) {
      const torch::Tensor batch = generated.slice(0, next, next + count);
      next += count;
      return batch;
    });
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_EQ(next, 260);
    EXPECT_EQ(reports[0].network, "Inception-v3");
    expect_relative(reports[0].fid, number("inception_fid"), 1e-4, "FID");
    expect_relative(reports[0].kid, number("inception_kid"), 1e-4, "KID");
    EXPECT_FALSE(reports[0].has_pr);
    EXPECT_EQ(reports[1].network, "VGG16");
    EXPECT_TRUE(reports[1].has_pr);
    EXPECT_DOUBLE_EQ(reports[1].pr.precision, number("vgg_precision"));
    EXPECT_DOUBLE_EQ(reports[1].pr.recall, number("vgg_recall"));
    EXPECT_TRUE(reports[1].has_dc);
    EXPECT_DOUBLE_EQ(reports[1].dc.density, number("vgg_density"));
    EXPECT_DOUBLE_EQ(reports[1].dc.coverage, number("vgg_coverage"));
    EXPECT_FALSE(reports[0].has_dc);
    EXPECT_FALSE(std::isfinite(reports[1].fid));
    expect_relative(reports[2].fid, number("custom_fid"), 1e-4, "custom FID");
    for (const auto& r : reports) {
      EXPECT_EQ(r.real, 260);
      EXPECT_EQ(r.real_from_cache, pass == 1) << r.network;
    }
  }
  // Another real set under the same networks is not served from the cache.
  const std::string other = file("other.lmdb");
  write_lmdb(other, tensor("generated"), "fnv1a64:other");
  const auto other_real = ImageCollection::open(other, 16);
  run.real = other_real.get();
  o.pr = o.kid = false;
  o.features.clear();
  int64_t next = 0;
  const auto reports = evaluate_features(o, run, [&](int64_t count) {
    const torch::Tensor batch = generated.slice(0, next, next + count);
    next += count;
    return batch;
  });
  EXPECT_FALSE(reports[0].real_from_cache);
  EXPECT_NEAR(reports[0].fid, 0.0, 1e-6);
}

}  // namespace

namespace {

TEST(MetricList, ReadsEachMetricAndRefusesUnknownOnes) {
  sg::FeatureMetricOptions o;
  bool swd = false;
  EXPECT_EQ(sg::parse_metric_list("fid,pr", swd, o), "");
  EXPECT_FALSE(swd);
  EXPECT_TRUE(o.fid && o.pr && !o.kid);
  EXPECT_EQ(sg::parse_metric_list("swd,kid", swd, o), "");
  EXPECT_TRUE(swd && o.kid && !o.fid && !o.pr);
  EXPECT_NE(sg::parse_metric_list("fid,is", swd, o).find("'is'"), std::string::npos);
  EXPECT_NE(sg::parse_metric_list("", swd, o), "");
  EXPECT_NE(sg::parse_metric_list("fid,", swd, o), "");
}

}  // namespace
