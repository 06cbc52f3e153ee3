// sg_eval as a library: the Laplacian pyramid, the sort, the sliced
// Wasserstein distance against a direct transcription of its definition,
// the ordering the metric must give (noise >> blur >> another sample), the
// memorisation check (a lookup of training images is flagged, noise and
// fresh images are not), the whole report from LMDBs, folders and a
// checkpoint, and SWD logging during training.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <utility>

#include "common/errors.hpp"
#include "common/images/image_codec.hpp"
#include "common/list_files.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "model/core/drawing.hpp"
#include "model/evaluation/audit.hpp"
#include "model/evaluation/coverage.hpp"
#include "model/evaluation/evaluate.hpp"
#include "model/evaluation/image_set.hpp"
#include "model/evaluation/memorization.hpp"
#include "model/evaluation/phantoms.hpp"
#include "model/evaluation/swd.hpp"
#include "model/stylegan/sampling.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/trainer.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// A mild blur: the 3x3 binomial filter.
torch::Tensor blurred(const torch::Tensor& images) {
  auto x = images.to(torch::kFloat);
  const auto n = x.size(0), c = x.size(1), s = x.size(2);
  auto planes = torch::reflection_pad2d(x.reshape({n * c, 1, s, s}), {1, 1, 1, 1});
  const auto taps = torch::tensor({1.0f, 2.0f, 1.0f}) / 4.0;
  const auto kernel = (taps.view({3, 1}) * taps.view({1, 3})).view({1, 1, 3, 3});
  return torch::conv2d(planes, kernel).reshape({n, c, s, s}).round().clamp(0, 255).to(torch::kUInt8);
}

torch::Tensor uniform_noise(int64_t n, int size, uint64_t seed) {
  auto rng = at::detail::createCPUGenerator(seed);
  return torch::randint(0, 256, {n, 1, size, size}, rng).to(torch::kUInt8);
}

TEST(Pyramid, LevelsHalveAndAddBackToTheImage) {
  auto images = synthetic_phantoms(3, 64, 7).to(torch::kFloat);
  auto pyramid = laplacian_pyramid(images, 3);
  ASSERT_EQ(pyramid.size(), 3u);
  EXPECT_EQ(pyramid[0].size(2), 64);
  EXPECT_EQ(pyramid[1].size(2), 32);
  EXPECT_EQ(pyramid[2].size(2), 16);
  // Band-pass levels plus the low-pass remainder rebuild the input.
  auto rebuilt = pyramid[2];
  for (int l = 1; l >= 0; --l) rebuilt = pyramid[l] + pyramid_up(rebuilt);
  EXPECT_LT((rebuilt - images).abs().max().item<float>(), 1e-3);
  // A constant image stays constant through the filters (mirrored borders).
  auto flat = torch::full({1, 1, 16, 16}, 100.0);
  EXPECT_LT((pyramid_down(flat) - 100).abs().max().item<float>(), 1e-4);
  EXPECT_LT((pyramid_up(pyramid_down(flat)) - 100).abs().max().item<float>(), 1e-4);
  EXPECT_EQ(swd_resolutions(64), (std::vector<int>{64, 32, 16}));
  EXPECT_TRUE(swd_resolutions(8).empty());
}

TEST(Swd, RadixSortMatchesStdSort) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 50.f);
  std::vector<float> values(100000);
  for (auto& v : values) v = normal(rng);
  values[5] = -0.f;
  values[6] = 0.f;
  values[7] = std::numeric_limits<float>::infinity();
  values[8] = -std::numeric_limits<float>::infinity();
  values[9] = 1e-30f;
  values[10] = -1e30f;
  auto expected = values;
  std::sort(expected.begin(), expected.end());
  radix_sort_floats(values.data(), values.size());
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], expected[i]) << i;
}

// ProGAN's sliced_wasserstein(), written out with LibTorch operators and
// explicitly normalised descriptors, with the same directions.
double reference_sliced_wasserstein(const torch::Tensor& a, const torch::Tensor& b, int channels,
                                    const SwdOptions& options) {
  const auto na = normalize_descriptors(a, channels).to(torch::kDouble);
  const auto nb = normalize_descriptors(b, channels).to(torch::kDouble);
  auto generator = at::detail::createCPUGenerator(options.seed);
  double total = 0;
  for (int r = 0; r < options.repeats; ++r) {
    auto u = torch::randn({a.size(1), options.directions_per_repeat}, generator);
    u = (u / u.norm(2, 0, true)).to(torch::kDouble);
    auto pa = std::get<0>(torch::sort(torch::mm(na, u), 0)), pb = std::get<0>(torch::sort(torch::mm(nb, u), 0));
    total += (pa - pb).abs().mean().item<double>();
  }
  return total / options.repeats;
}

TEST(Swd, SlicedWassersteinMatchesItsDefinition) {
  auto a = torch::randn({3000, 2 * 49}) * 3 + 1, b = torch::randn({3000, 2 * 49}).pow(3);
  SwdOptions options;
  options.seed = 11;
  const double ours = sliced_wasserstein(a, b, 2, options);
  const double reference = reference_sliced_wasserstein(a, b, 2, options);
  EXPECT_NEAR(ours, reference, 1e-5 * reference);
  // Normalising is part of the metric: scaling or shifting a set changes nothing.
  EXPECT_NEAR(sliced_wasserstein(a * 7 - 3, b, 2, options), ours, 1e-4 * ours);
  // Identical sets: exactly zero.
  EXPECT_EQ(sliced_wasserstein(a, a, 2, options), 0.0);
}

TEST(Swd, OrdersNoiseAboveBlurAboveAnotherSampleAndASetWithItselfNearZero) {
  const auto real = synthetic_phantoms(400, 64, 1);
  const auto first = real.slice(0, 0, 200), second = real.slice(0, 200, 400);
  const double itself = swd(first, first).average;
  const double halves = swd(first, second).average;
  const double blur = swd(first, blurred(second)).average;
  const double noise = swd(first, uniform_noise(200, 64, 5)).average;
  // Measured here: itself 11, halves 12, blur 33, noise 235. A set against
  // itself (other patch positions) is at the sampling floor of 25,600
  // patches, which another sample of the same distribution barely exceeds.
  EXPECT_LT(itself, 1.2 * halves);
  EXPECT_LT(itself, 0.4 * blur);
  EXPECT_GT(blur, 2 * halves);
  EXPECT_GT(noise, 4 * blur);
}

TEST(Swd, ThreadCountDoesNotChangeTheResult) {
  const auto a = synthetic_phantoms(64, 32, 1), b = synthetic_phantoms(64, 32, 2);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const double one = swd(a, b).average;
  at::set_num_threads(2);
  const double two = swd(a, b).average;
  at::set_num_threads(threads);
  EXPECT_EQ(one, two);
}

TEST(Memorization, NearestNeighboursAndPercentiles) {
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 50), 3.0);
  EXPECT_DOUBLE_EQ(percentile({0, 10}, 1), 0.1);  // numpy's linear interpolation
  EXPECT_DOUBLE_EQ(fraction_below({1, 2, 3, 4}, 3), 0.5);

  const auto train = synthetic_phantoms(50, 64, 1);
  const auto queries = train.index_select(0, torch::tensor({7, 3, 42}));
  const auto nearest = nearest_training_images(image_features(queries), image_features(train));
  EXPECT_EQ(nearest.index, (std::vector<int64_t>{7, 3, 42}));
  for (double d : nearest.distance) EXPECT_EQ(d, 0.0);
  // Left out, an image's nearest is another one, at a positive distance.
  const auto others = nearest_training_images(image_features(queries), image_features(train), 16, {7, 3, 42});
  EXPECT_NE(others.index[0], 7);
  EXPECT_GT(others.distance[0], 0.0);
}

struct EvalData {
  TempDir dir;
  torch::Tensor train = synthetic_phantoms(300, 32, 1), validate = synthetic_phantoms(100, 32, 2);
  std::string real = dir / "real.lmdb";
  EvalData() { write_image_lmdb(real, train, validate); }

  EvalReport evaluate_fakes(const torch::Tensor& fakes, const std::string& name) {
    write_image_lmdb(dir / name, fakes);
    EvalOptions o;
    o.fake = dir / name;
    o.real = real;
    o.size = 32;
    o.n = 200;
    o.pairs_png = dir / (name + "_pairs.png");
    return evaluate(o, open_checkpoint);
  }
};

// A generator that draws only the first half of the training records
// (150 of 300, 50 of them twice): the real records it misses are named by
// their index in the split, and none of the drawn ones is among them.
TEST(Coverage, NamesTheRealRecordsNoGeneratedImageReaches) {
  EvalData data;
  const torch::Tensor half = data.train.slice(0, 0, 150);
  const EvalReport report = data.evaluate_fakes(torch::cat({half, half.slice(0, 0, 50)}), "half.lmdb");
  ASSERT_EQ(report.coverage.size(), 2u);
  for (const EvalReport::Coverage& c : report.coverage) {
    EXPECT_FALSE(c.uncovered_real.empty()) << c.resolution;
    EXPECT_TRUE(std::is_sorted(c.uncovered_real.begin(), c.uncovered_real.end()));
    for (const uint64_t index : c.uncovered_real) {
      EXPECT_GE(index, 150u) << "record " << index << " was drawn exactly, yet reported missed";
      EXPECT_LT(index, 300u);
    }
  }
  // Noise reaches none: every record of the real sample is named, by its index.
  std::vector<uint64_t> picked = pick_indexes(300, 200, 2);  // evaluate's real sample (seed 0 + 2)
  std::sort(picked.begin(), picked.end());
  const EvalReport noise = data.evaluate_fakes(uniform_noise(200, 32, 9), "noise.lmdb");
  for (const EvalReport::Coverage& c : noise.coverage) EXPECT_EQ(c.uncovered_real, picked) << c.resolution;
  EXPECT_NE(report_json(report).find("\"uncovered_real_records\": [["), std::string::npos);
  EXPECT_NE(format_report(report).find("real records no generated image reaches"), std::string::npos);
  // Coverage: at least the half it draws, none for noise; the real halves' own above half.
  for (const EvalReport::Coverage& c : report.coverage) {
    EXPECT_GT(c.generated_density_coverage.coverage, 0.3) << c.resolution;
    EXPECT_GT(c.baseline_density_coverage.coverage, 0.5) << c.resolution;
  }
  for (const EvalReport::Coverage& c : noise.coverage) EXPECT_EQ(c.generated_density_coverage.coverage, 0.0);
  EXPECT_NE(report_json(report).find("\"coverage\": "), std::string::npos);
  EXPECT_NE(format_report(report).find("density "), std::string::npos);
}

TEST(Memorization, FlagsALookupOfTrainingImagesButNotNoiseOrFreshImages) {
  EvalData data;
  // A "generator" that replays training images, some with a little noise.
  auto picks = torch::randperm(300, at::detail::createCPUGenerator(4)).slice(0, 0, 200);
  auto lookup = data.train.index_select(0, picks);
  const auto replay = data.evaluate_fakes(lookup, "lookup.lmdb");
  EXPECT_EQ(replay.memorization.flagged_fraction, 1.0);
  EXPECT_EQ(replay.memorization.closest_distance, 0.0);
  auto jitter = (lookup.to(torch::kInt) + torch::randint(-2, 3, lookup.sizes(), at::detail::createCPUGenerator(6)))
                    .clamp(0, 255)
                    .to(torch::kUInt8);
  EXPECT_GT(data.evaluate_fakes(jitter, "jitter.lmdb").memorization.flagged_fraction, 0.9);

  const auto noise = data.evaluate_fakes(uniform_noise(200, 32, 9), "noise.lmdb");
  EXPECT_EQ(noise.memorization.flagged_fraction, 0.0);
  const auto fresh = data.evaluate_fakes(synthetic_phantoms(200, 32, 77), "fresh.lmdb");
  EXPECT_LT(fresh.memorization.flagged_fraction, 0.1);
  EXPECT_EQ(fresh.memorization.held_out, "validate split");
  // The real-vs-real baseline sits near the 1% the threshold stands for.
  EXPECT_LT(fresh.memorization.baseline_flagged_fraction, 0.1);
  // And the distance: noise far above fresh images, fresh near the baseline.
  EXPECT_GT(noise.swd.average, 5 * fresh.swd.average);
  EXPECT_LT(fresh.swd.average, 3 * fresh.baseline.average);
  EXPECT_TRUE(fs::exists(data.dir / "fresh.lmdb_pairs.png"));
}

// A phantom LMDB whose records keep their patients: 12 training patients
// of 5 slices (P00..P11), 4 validate and 4 test patients.
void write_patient_lmdb(const std::string& path, const torch::Tensor& train, const torch::Tensor& validate,
                        const torch::Tensor& test) {
  write_image_lmdb(path + ".images", train, validate);
  LmdbWriter writer(path, {});
  std::vector<LmdbRecord> records;
  const std::pair<Split, const torch::Tensor*> splits[] = {{TRAIN, &train}, {VALIDATE, &validate}, {TEST, &test}};
  int patient = 0;
  for (const auto& [split, set] : splits) {
    if (!set->defined()) continue;
    for (int64_t i = 0; i < set->size(0); ++i) {
      const auto image = uint8_to_images((*set).slice(0, i, i + 1).contiguous())[0];
      records.push_back({split, record_key(32, static_cast<uint64_t>(i)), encode_record(image, RAW, 1, 1)});
      char subject[32];
      std::snprintf(subject, sizeof subject, "P%02lld", static_cast<long long>(patient + i / 5));
      records.push_back({split, subject_key(static_cast<uint64_t>(i)), subject, RecordDatabase::Subjects});
    }
    patient += static_cast<int>(set->size(0) / 5);
  }
  writer.write(records);
  auto length = [](const torch::Tensor& set) { return set.defined() ? static_cast<uint64_t>(set.size(0)) : 0; };
  writer.finish(describe_dataset({32}, 1, RAW, {length(train), length(validate), length(test)}));
}

TEST(Audit, NamesThePatientsAGeneratorCopiesAndNotUnseenOnes) {
  TempDir dir;
  const torch::Tensor train = synthetic_phantoms(60, 32, 1), validate = synthetic_phantoms(20, 32, 2),
                      test = synthetic_phantoms(20, 32, 3);
  write_patient_lmdb(dir / "real.lmdb", train, validate, test);
  const auto real = ImageCollection::open(dir / "real.lmdb", 32);
  AuditOptions o;
  o.csv = dir / "audit.csv";
  o.png = dir / "audit.png";
  // A generator that returns P03's five slices twice and two of P07's, among 20 new images.
  const torch::Tensor copies = torch::cat({train.slice(0, 15, 20), train.slice(0, 15, 20), train.slice(0, 35, 37),
                                           synthetic_phantoms(20, 32, 77)});
  const AuditReport copying = audit_patients(*real, copies, o);
  EXPECT_EQ(copying.held_out, "validate split (patients that never trained)");
  EXPECT_EQ(copying.held_out_images, 20u);
  ASSERT_EQ(copying.patients.size(), 12u);
  EXPECT_EQ(copying.patients[0].subject, "P03");
  EXPECT_EQ(copying.patients[0].copies, 10u);
  EXPECT_EQ(copying.patients[0].closest, 0.0);
  EXPECT_EQ(copying.patients[1].subject, "P07");
  EXPECT_EQ(copying.patients[1].copies, 2u);
  EXPECT_EQ(copying.patients[2].copies, 0u);
  EXPECT_EQ(copying.copies, 12u) << "the 20 new images are no copies";
  EXPECT_EQ(copying.patients[0].training_images, 5u);
  const std::string csv = test::read_file(dir / "audit.csv");
  // New images may lie nearest P03 too (nearest samples >= 10), but only its copies count as such.
  EXPECT_TRUE(std::regex_search(csv, std::regex("^rank,subject,training_images,nearest_samples,copies,"
                                                "closest_distance\n1,P03,5,1[0-9],10,0\n2,P07,5,[0-9]+,2,0\n")))
      << csv;
  EXPECT_TRUE(fs::exists(dir / "audit.png"));
  EXPECT_NE(format_audit(copying).find(" 1. P03"), std::string::npos) << format_audit(copying);
  EXPECT_NE(audit_json(copying).find("\"ranked\": [{\"subject\": \"P03\""), std::string::npos);

  // In a feature space too (here 8x8 box averages stand in for a network).
  AuditOptions with_features;
  with_features.features = [](const torch::Tensor& images) {
    return box_downscale(images, 8).reshape({images.size(0), -1});
  };
  with_features.feature_network = "8x8 boxes";
  with_features.csv = dir / "features.csv";
  const AuditReport featured = audit_patients(*real, copies, with_features);
  EXPECT_EQ(featured.feature_network, "8x8 boxes");
  EXPECT_EQ(featured.patients[0].subject, "P03");
  EXPECT_EQ(featured.patients[0].feature_copies, 10u);
  EXPECT_EQ(featured.patients[1].feature_copies, 2u);
  EXPECT_EQ(featured.feature_copies, 12u);
  EXPECT_NE(test::read_file(dir / "features.csv").find(",feature_nearest_samples,feature_copies\n1,P03,5,"),
            std::string::npos);
  EXPECT_NE(audit_json(featured).find("\"feature_space\": {\"network\": \"8x8 boxes\""), std::string::npos);

  // Real slices of unseen patients (the test split) are not flagged.
  const AuditReport unseen = audit_patients(*real, test, with_features);
  EXPECT_EQ(unseen.copies, 0u);
  EXPECT_EQ(unseen.feature_copies, 0u);
  for (const PatientAudit& p : unseen.patients) EXPECT_EQ(p.copies + p.feature_copies, 0u) << p.subject;

  // Without a held-out split: each training image against the other patients'.
  write_patient_lmdb(dir / "train_only.lmdb", train, torch::Tensor(), torch::Tensor());
  const AuditReport loo = audit_patients(*ImageCollection::open(dir / "train_only.lmdb", 32), copies, {});
  EXPECT_EQ(loo.held_out, "leave-one-patient-out over the training set (no held-out split)");
  EXPECT_EQ(loo.patients[0].subject, "P03");
  EXPECT_EQ(loo.patients[0].copies, 10u);

  // sg_eval --audit, and an LMDB that keeps no subjects.
  write_image_lmdb(dir / "fakes.lmdb", copies);
  EvalOptions e;
  e.fake = dir / "fakes.lmdb";
  e.real = dir / "real.lmdb";
  e.size = 32;
  e.n = 100;
  e.audit = true;
  e.audit_csv = dir / "eval_audit.csv";
  const EvalReport report = evaluate(e, open_checkpoint);
  ASSERT_TRUE(report.audit.has_value());
  EXPECT_EQ(report.audit->patients[0].subject, "P03");
  EXPECT_NE(report_json(report).find("\"audit\": {"), std::string::npos);
  e.real = dir / "real.lmdb.images";
  try {
    evaluate(e, open_checkpoint);
    FAIL();
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("keeps no subject per record"), std::string::npos) << error.what();
  }
}

// Each row's distance to its k-th nearest other row, one pair at a time.
std::vector<double> brute_force_radii(const torch::Tensor& x, int k) {
  std::vector<double> r;
  for (int64_t i = 0; i < x.size(0); ++i) {
    std::vector<double> d;
    for (int64_t j = 0; j < x.size(0); ++j)
      if (j != i) d.push_back((x[i] - x[j]).norm().item<double>());
    std::sort(d.begin(), d.end());
    r.push_back(d[static_cast<size_t>(k - 1)]);
  }
  return r;
}

// A real cloud of 60 rows and 50 generated ones, half on it and half
// shifted away from it: the sets the definition tests compare on.
std::pair<torch::Tensor, torch::Tensor> cloud_and_half_shifted_fakes(uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor real = torch::randn({60, 5}, torch::kDouble);
  torch::Tensor fake = torch::cat({torch::randn({25, 5}, torch::kDouble),
                                   torch::randn({25, 5}, torch::kDouble) * 0.3 + 4.0});
  return {real, fake};
}

// Precision and recall by their definition, one pair at a time.
PrecisionRecall brute_force_precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int k) {
  auto share_inside = [](const torch::Tensor& queries, const torch::Tensor& centres, const std::vector<double>& r) {
    int64_t inside = 0;
    for (int64_t q = 0; q < queries.size(0); ++q)
      for (int64_t c = 0; c < centres.size(0); ++c)
        if ((queries[q] - centres[c]).norm().item<double>() <= r[static_cast<size_t>(c)]) {
          ++inside;
          break;
        }
    return static_cast<double>(inside) / static_cast<double>(queries.size(0));
  };
  PrecisionRecall out;
  out.precision = share_inside(fake, real, brute_force_radii(real, k));
  out.recall = share_inside(real, fake, brute_force_radii(fake, k));
  return out;
}

TEST(Coverage, PrecisionAndRecallMatchTheirDefinition) {
  const auto [real, fake] = cloud_and_half_shifted_fakes(3);
  for (int k : {1, 3, 5}) {
    const PrecisionRecall fast = knn_precision_recall(real, fake, k);
    const PrecisionRecall slow = brute_force_precision_recall(real, fake, k);
    EXPECT_DOUBLE_EQ(fast.precision, slow.precision) << "k " << k;
    EXPECT_DOUBLE_EQ(fast.recall, slow.recall) << "k " << k;
    EXPECT_EQ(fast.real, 60);
    EXPECT_EQ(fast.fake, 50);
  }
  const PrecisionRecall mixed = knn_precision_recall(real, fake, 3);
  EXPECT_GT(mixed.precision, 0.3);
  EXPECT_LT(mixed.precision, 0.7);  // the shifted half lies outside the real balls
}

TEST(Coverage, ACollapsedGeneratorKeepsPrecisionAndLosesRecall) {
  torch::manual_seed(4);
  const torch::Tensor real = torch::randn({200, 8});
  // Every fake a small jitter around one real image: on the data, not covering it.
  const torch::Tensor collapsed = real[7].unsqueeze(0) + 0.01 * torch::randn({200, 8});
  const PrecisionRecall c = knn_precision_recall(real, collapsed);
  EXPECT_DOUBLE_EQ(c.precision, 1.0);
  EXPECT_LT(c.recall, 0.05);
  // Which real rows it reaches: the one it collapsed on, and recall's count.
  ASSERT_EQ(c.real_covered.size(0), 200);
  EXPECT_TRUE(c.real_covered[7].item<bool>());
  EXPECT_DOUBLE_EQ(c.real_covered.to(torch::kDouble).mean().item<double>(), c.recall);
  // The same distribution drawn again: both high. A set far away: both zero.
  const PrecisionRecall same = knn_precision_recall(real, torch::randn({200, 8}));
  EXPECT_GT(same.precision, 0.8);
  EXPECT_GT(same.recall, 0.8);
  const PrecisionRecall far = knn_precision_recall(real, torch::randn({200, 8}) + 100);
  EXPECT_EQ(far.precision, 0.0);
  EXPECT_EQ(far.recall, 0.0);
  EXPECT_THROW(knn_precision_recall(real.slice(0, 0, 3), collapsed), std::invalid_argument);
  EXPECT_THROW(knn_precision_recall(real, torch::randn({200, 7})), std::invalid_argument);
}

// Density and coverage by their definition (Naeem et al. 2020), one pair at a time.
DensityCoverage brute_force_density_coverage(const torch::Tensor& real, const torch::Tensor& fake, int k) {
  const int64_t n = real.size(0), m = fake.size(0);
  const std::vector<double> radii = brute_force_radii(real, k);
  int64_t covered = 0, inside = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t here = 0;
    for (int64_t j = 0; j < m; ++j)
      here += (fake[j] - real[i]).norm().item<double>() <= radii[static_cast<size_t>(i)] ? 1 : 0;
    inside += here;
    covered += here > 0 ? 1 : 0;
  }
  DensityCoverage out;
  out.coverage = static_cast<double>(covered) / static_cast<double>(n);
  out.density = static_cast<double>(inside) / static_cast<double>(k * m);
  return out;
}

TEST(Coverage, DensityAndCoverageMatchTheirDefinition) {
  const auto [real, fake] = cloud_and_half_shifted_fakes(5);
  for (int k : {1, 3, 5}) {
    const DensityCoverage fast = knn_density_coverage(real, fake, k);
    const DensityCoverage slow = brute_force_density_coverage(real, fake, k);
    EXPECT_DOUBLE_EQ(fast.coverage, slow.coverage) << "k " << k;
    EXPECT_DOUBLE_EQ(fast.density, slow.density) << "k " << k;
    EXPECT_EQ(fast.real, 60);
    EXPECT_EQ(fast.fake, 50);
    EXPECT_DOUBLE_EQ(fast.real_covered.to(torch::kDouble).mean().item<double>(), fast.coverage);
  }
  // The same distribution drawn again: density near 1, coverage near 1 - 2^-k.
  torch::manual_seed(6);
  const torch::Tensor many = torch::randn({400, 4});
  const DensityCoverage same = knn_density_coverage(many, torch::randn({400, 4}));
  EXPECT_GT(same.density, 0.8);
  EXPECT_LT(same.density, 1.2);
  EXPECT_GT(same.coverage, 0.9);
  // Collapsed on one real row: it is covered, hardly any other.
  const DensityCoverage collapsed = knn_density_coverage(many, many[7].unsqueeze(0) + 0.01 * torch::randn({400, 4}));
  EXPECT_TRUE(collapsed.real_covered[7].item<bool>());
  EXPECT_LT(collapsed.coverage, 0.05);
  EXPECT_EQ(knn_density_coverage(many, torch::randn({400, 4}) + 100).coverage, 0.0);
  EXPECT_THROW(knn_density_coverage(many.slice(0, 0, 5), many), std::invalid_argument);
  EXPECT_THROW(knn_density_coverage(many, torch::randn({400, 3})), std::invalid_argument);
  EXPECT_THROW(knn_density_coverage(many, torch::ones({3}), many, 5), std::invalid_argument);
}

// The demo's case in two dimensions: the real images on a curve (here a
// segment), the samples on its first half plus a few blurred ones far from
// it and from each other. The outliers' own k-NN balls are wide enough to
// hold the whole segment, so recall counts every real image as reached;
// coverage asks each real image's own neighbourhood and counts the half
// the samples resemble.
TEST(Coverage, FarOutliersRaiseRecallButNotCoverage) {
  const int64_t n = 200;
  const torch::Tensor along = torch::linspace(0, 1, n, torch::kDouble);
  const torch::Tensor real = torch::stack({along, torch::zeros({n}, torch::kDouble)}, 1);
  const torch::Tensor on_half = torch::stack({torch::linspace(0, 0.5, 150, torch::kDouble),
                                              torch::full({150}, 0.001, torch::kDouble)}, 1);
  const double pi = std::acos(-1.0);
  const torch::Tensor angle = torch::linspace(0, 2 * pi, 11, torch::kDouble).slice(0, 0, 10);
  const torch::Tensor outliers = torch::stack({0.5 + 1.5 * angle.cos(), 1.5 * angle.sin()}, 1);
  const torch::Tensor fake = torch::cat({on_half, outliers});

  const PrecisionRecall pr = knn_precision_recall(real, fake, 3);
  EXPECT_GT(pr.recall, 0.95);
  const DensityCoverage dc = knn_density_coverage(real, fake, 5);
  EXPECT_GT(dc.coverage, 0.45);
  EXPECT_LT(dc.coverage, 0.6);
  for (int64_t i = 0; i < n; ++i) {
    if (along[i].item<double>() > 0.55) {
      EXPECT_FALSE(dc.real_covered[i].item<bool>()) << "real row " << i;
    }
  }
}

TEST(Coverage, BorderBrightnessIsTheOuterRingOnly) {
  torch::Tensor images = torch::zeros({2, 1, 6, 6}, torch::kUInt8);
  images.index_put_({0, 0, 0}, 200);                          // the top row of image 0
  images.index_put_({1, 0, 2, 2}, 255);                       // inside: not counted
  // 6 of the 2 x 20 ring pixels at 200.
  EXPECT_DOUBLE_EQ(border_brightness(images), 6 * 200.0 / 40);
  EXPECT_THROW(border_brightness(torch::zeros({1, 1, 1, 5}, torch::kUInt8)), std::invalid_argument);
}

TEST(Evaluate, ReportsJsonAndReadsFoldersOfImages) {
  EvalData data;
  // A folder of RGB PNGs at twice the size: converted and box-averaged.
  fs::create_directories(data.dir / "pngs");
  const auto big = torch::upsample_nearest2d(synthetic_phantoms(40, 32, 5).to(torch::kFloat), {64, 64})
                       .to(torch::kUInt8)
                       .expand({40, 3, 64, 64})
                       .contiguous();
  const auto images = uint8_to_images(big);
  for (size_t i = 0; i < images.size(); ++i)
    test::write_file(data.dir / ("pngs/" + std::to_string(i) + ".png"), encode_png(images[i], 1));
  EvalOptions o;
  o.fake = data.dir / "pngs";
  o.real = data.real;
  o.size = 32;
  o.n = 40;
  const EvalReport report = evaluate(o, open_checkpoint);
  EXPECT_EQ(report.fake_kind, "folder");
  EXPECT_EQ(report.channels, 1);
  EXPECT_EQ(report.compared_images, 40u);
  EXPECT_EQ(report.baseline_images, 20u);
  EXPECT_EQ(report.swd.resolutions, (std::vector<int>{32, 16}));
  const std::string json = report_json(report);
  EXPECT_NE(json.find("\"swd\": "), std::string::npos);
  EXPECT_NE(json.find("\"flagged_fraction\": "), std::string::npos);
  // Precision/recall at the 8x8 layout and at the full 32x32, and the border.
  ASSERT_EQ(report.coverage.size(), 2u);
  EXPECT_EQ(report.coverage[0].resolution, 8);
  EXPECT_EQ(report.coverage[1].resolution, 32);
  EXPECT_EQ(report.coverage[1].generated.real, 40);
  EXPECT_EQ(report.coverage[1].baseline.real, 20);
  EXPECT_EQ(report.coverage[1].draws, 1);  // as many generated images as real ones: one draw
  EXPECT_NE(json.find("\"precision_recall\": "), std::string::npos);
  EXPECT_NE(json.find("\"border_brightness\": "), std::string::npos);
  EXPECT_NE(format_report(report).find("real half vs real half"), std::string::npos);

  // A wrongly sized image is named; sizes below 16 and non-datasets are refused.
  test::write_file(data.dir / "pngs/odd.png", encode_png(Image8(48, 48), 1));
  try {
    evaluate(o, open_checkpoint);
    FAIL() << "a 48x48 image was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("odd.png"), std::string::npos) << e.what();
  }
  o.size = 8;
  EXPECT_THROW(evaluate(o, open_checkpoint), std::invalid_argument);
  o.size = 32;
  o.real = data.dir / "nothing";
  EXPECT_THROW(evaluate(o, open_checkpoint), InputError);
}

TrainOptions tiny_training(const std::string& lmdb, const std::string& out) {
  TrainOptions t;
  t.lmdb = lmdb;
  t.out = out;
  t.schedule.init_size = 16;
  t.schedule.max_size = 16;
  t.schedule.batch = 4;
  t.model.max_channels = 8;
  t.model.style_dim = 8;
  t.model.n_mlp = 2;
  t.sample_every = 0;
  t.checkpoint_every = 0;
  t.log_every = 3;
  return t;
}

TEST(Evaluate, DrawsFromACheckpointAndTrainingLogsSwd) {
  TempDir dir;
  write_image_lmdb(dir / "real.lmdb", synthetic_phantoms(64, 16, 1));
  TrainOptions t = tiny_training(dir / "real.lmdb", dir / "run");
  t.max_iter = 4;
  t.eval_every = 2;
  t.eval_images = 32;
  const TrainResult trained = train(t);

  std::ifstream csv(dir / "run/log.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header.substr(header.rfind(',') + 1), "swd");
  std::vector<std::string> swd_cells;
  while (std::getline(csv, line)) swd_cells.push_back(line.substr(line.rfind(',') + 1));
  // Iterations 2, 3 (log) and 4: SWD where it was measured, empty elsewhere.
  ASSERT_EQ(swd_cells.size(), 3u);
  EXPECT_GT(std::stod(swd_cells[0]), 0.0);
  EXPECT_TRUE(swd_cells[1].empty());
  EXPECT_GT(std::stod(swd_cells[2]), 0.0);
  std::vector<std::string> event_files;
  ASSERT_FALSE(list_files(dir / "run/tensorboard", Depth::top_level, event_files));
  bool tagged = false;
  for (const auto& file : event_files) tagged |= test::read_file(file).find("eval/swd_16") != std::string::npos;
  EXPECT_TRUE(tagged);

  EvalOptions o;
  o.fake = trained.last_checkpoint;
  o.real = dir / "real.lmdb";
  o.size = 16;
  o.n = 32;
  o.device = "cpu";
  const EvalReport report = evaluate(o, open_checkpoint);
  EXPECT_EQ(report.fake_kind, "checkpoint");
  EXPECT_EQ(report.memorization.fake_images, 32u);
  // Four iterations of training: far from the data, and no replay.
  EXPECT_GT(report.swd.average, 2 * report.baseline.average);
  EXPECT_EQ(report.memorization.flagged_fraction, 0.0);
  EXPECT_NE(report.memorization.held_out.find("leave-one-out"), std::string::npos);
  o.size = 32;
  EXPECT_THROW(evaluate(o, open_checkpoint), InputError);  // not trained to 32x32
}

}  // namespace
}  // namespace sg
