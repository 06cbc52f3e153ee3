#include "model/evaluation/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <numeric>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/json_text.hpp"
#include "common/images/image_grid.hpp"
#include "common/progress.hpp"
#include "datasets/lmdb_keys.hpp"
#include "model/core/drawing.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/feature_network.hpp"
#include "model/evaluation/image_set.hpp"
#include "model/evaluation/memorization.hpp"
#include "model/evaluation/samples.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

struct FakeImages {
  torch::Tensor images;  // uint8 [n, c, s, s]
  std::string kind;
  std::string note;
};

FakeImages generated_images(const EvalOptions& o, CheckpointDrawer& drawer) {
  ProgressLine progress("generating", static_cast<uint64_t>(o.n), "images", o.show_progress);
  auto images = generate_images(drawer.seeded_images(o.seed, o.truncation), o.n, o.batch,
                                [&](int64_t done) { progress.update(done, done); });
  progress.finish();
  return {images, drawer.kind(), drawer.note()};
}

FakeImages stored_images(const EvalOptions& o, const ImageCollection& fakes) {
  const uint64_t length = fakes.length(TRAIN);
  if (length == 0) throw InputError(o.fake, "holds no images to evaluate");
  // Another draw than the real set's, so that a set against itself compares two samples.
  return {fakes.read(TRAIN, pick_indexes(length, static_cast<uint64_t>(o.n), o.seed + 1)), fakes.kind(), ""};
}

// The features of images of a split, with a progress line.
ImageFeatures split_features(const ImageCollection& images, Split split, const std::vector<uint64_t>& indexes,
                             const EvalOptions& o, const char* label) {
  return collection_features(images, split, indexes, o.fine_resolution, o.coarse_resolution, label, o.show_progress);
}

constexpr int kCoverageK = 3;  // stylegan2-ada-pytorch's pr50k3
constexpr int kDensityCoverageK = 5;  // Naeem et al. 2020's choice
constexpr int kLayoutResolution = 8;
constexpr int64_t kCoverageDraws = 5;

// Precision and recall of the first `compared` images of each set, and of
// one half of the real images against the other, on pixels box-averaged to
// `resolution` (NaN where a set is too small).
EvalReport::Coverage coverage_at(int resolution, const torch::Tensor& real, const std::vector<uint64_t>& real_indexes,
                                 const torch::Tensor& fake, uint64_t compared_images) {
  const auto compared = static_cast<int64_t>(compared_images);
  const int64_t half = real.size(0) / 2;
  auto pixels = [&](const torch::Tensor& images) {
    return (box_downscale(images, resolution) / 255.0).reshape({images.size(0), -1});
  };
  EvalReport::Coverage c;
  c.resolution = resolution;
  const double unmeasured = std::numeric_limits<double>::quiet_NaN();
  c.generated.precision = c.generated.recall = c.baseline.precision = c.baseline.recall = unmeasured;
  c.generated_density_coverage.density = c.generated_density_coverage.coverage = unmeasured;
  c.baseline_density_coverage.density = c.baseline_density_coverage.coverage = unmeasured;
  const torch::Tensor real_pixels = pixels(real);
  if (compared > kCoverageK) {
    // With more generated images than real ones (a small dataset), the mean
    // over up to kCoverageDraws disjoint draws of `compared` of them: the
    // same measure, less noisy than one draw.
    const int64_t draws = std::clamp<int64_t>(fake.size(0) / compared, 1, kCoverageDraws);
    const torch::Tensor fake_pixels = pixels(fake.slice(0, 0, draws * compared));
    const torch::Tensor real_rows = real_pixels.slice(0, 0, compared);
    const torch::Tensor real_radii = kth_neighbour_radii(real_rows, kCoverageK);
    const bool wide_balls = compared > kDensityCoverageK;  // density/coverage's k fits in the sets
    const torch::Tensor real_wide_radii = wide_balls ? kth_neighbour_radii(real_rows, kDensityCoverageK) : torch::Tensor();
    double precision = 0, recall = 0, density = 0, covered = 0;
    torch::Tensor covered_in = torch::zeros({compared}, torch::kLong);
    for (int64_t d = 0; d < draws; ++d) {
      const torch::Tensor drawn = fake_pixels.slice(0, d * compared, (d + 1) * compared);
      c.generated = knn_precision_recall(real_rows, real_radii, drawn, kCoverageK);
      precision += c.generated.precision;
      recall += c.generated.recall;
      covered_in += c.generated.real_covered.to(torch::kLong);
      if (!wide_balls) continue;
      c.generated_density_coverage = knn_density_coverage(real_rows, real_wide_radii, drawn, kDensityCoverageK);
      density += c.generated_density_coverage.density;
      covered += c.generated_density_coverage.coverage;
    }
    c.generated.precision = precision / static_cast<double>(draws);
    c.generated.recall = recall / static_cast<double>(draws);
    if (wide_balls) {
      c.generated_density_coverage.density = density / static_cast<double>(draws);
      c.generated_density_coverage.coverage = covered / static_cast<double>(draws);
    }
    c.draws = static_cast<int>(draws);
    const auto* counts = covered_in.data_ptr<int64_t>();
    for (int64_t i = 0; i < compared; ++i)
      if (2 * counts[i] < draws) c.uncovered_real.push_back(real_indexes[static_cast<size_t>(i)]);
    std::sort(c.uncovered_real.begin(), c.uncovered_real.end());
  }
  const torch::Tensor first_half = real_pixels.slice(0, 0, half), second_half = real_pixels.slice(0, half, 2 * half);
  if (half > kCoverageK) c.baseline = knn_precision_recall(first_half, second_half, kCoverageK);
  if (half > kDensityCoverageK)
    c.baseline_density_coverage = knn_density_coverage(first_half, second_half, kDensityCoverageK);
  return c;
}

std::vector<double> pick(const std::vector<double>& values, size_t first, size_t end) {
  return {values.begin() + static_cast<std::ptrdiff_t>(first), values.begin() + static_cast<std::ptrdiff_t>(end)};
}

double median(const std::vector<double>& values) { return percentile(values, 50.0); }

// The descriptor rows of images [first, end) at every level.
std::vector<torch::Tensor> image_rows(const std::vector<torch::Tensor>& descriptors, int64_t first, int64_t end,
                                      int64_t per_image) {
  std::vector<torch::Tensor> rows;
  for (const auto& level : descriptors) rows.push_back(level.slice(0, first * per_image, end * per_image));
  return rows;
}

// Closest pairs: rows of up to 8 generated images, each above its nearest training image.
void write_pairs(const std::string& path, const torch::Tensor& fakes, const Nearest& nearest,
                 const ImageCollection& real, int count) {
  const std::vector<size_t> order = closest_rows(nearest.distance, static_cast<size_t>(count));
  const size_t shown = order.size();
  std::vector<int64_t> fake_rows;
  std::vector<uint64_t> train_rows;
  for (size_t i = 0; i < shown; ++i) {
    fake_rows.push_back(static_cast<int64_t>(order[i]));
    train_rows.push_back(static_cast<uint64_t>(nearest.index[order[i]]));
  }
  const auto fake_images = uint8_to_images(fakes.index_select(0, torch::tensor(fake_rows, torch::kLong)));
  const auto train_images =
      uint8_to_images(convert_channels(real.read(TRAIN, train_rows), static_cast<int>(fakes.size(1))).contiguous());
  const size_t columns = std::min<size_t>(8, shown);
  std::vector<Image8> cells;
  for (size_t row = 0; row < shown; row += columns)
    for (const auto* set : {&fake_images, &train_images})
      for (size_t i = row; i < row + columns; ++i)
        cells.push_back(i < shown ? (*set)[i] : Image8(fakes.size(3), fakes.size(2), fakes.size(1)));
  if (fs::path(path).has_parent_path()) create_output_folder(fs::path(path).parent_path().string());
  write_png(path, readable_grid(cells, static_cast<int>(columns)));
}

// `train`: the features of REAL's whole training split.
MemorizationReport check_memorization(const EvalOptions& o, const ImageCollection& real, const torch::Tensor& fakes,
                                      const ImageFeatures& train) {
  MemorizationReport report;
  report.resolution = std::min(o.size, o.fine_resolution);
  const uint64_t train_length = real.length(TRAIN);
  report.train_images = train_length;

  // Held-out real images: a held-out split when there is one, else each of
  // a sample of training images against the others.
  std::vector<int64_t> exclude;
  ImageFeatures held_out;
  if (real.length(VALIDATE) > 0 || real.length(TEST) > 0) {
    const Split split = real.length(VALIDATE) > 0 ? VALIDATE : TEST;
    const auto indexes = pick_indexes(real.length(split), static_cast<uint64_t>(o.n), o.seed + 3);
    held_out = split_features(real, split, indexes, o, "held-out set");
    report.held_out = std::string(split_display_name(split)) + " split";
    report.held_out_images = indexes.size();
  } else {
    const auto indexes = pick_indexes(train_length, static_cast<uint64_t>(o.n), o.seed + 3);
    exclude.assign(indexes.begin(), indexes.end());
    const auto rows = torch::tensor(exclude);
    held_out = {train.fine.index_select(0, rows), train.coarse.index_select(0, rows)};
    report.held_out = "leave-one-out over the training set (no held-out split)";
    report.held_out_images = indexes.size();
  }
  const Nearest real_nearest = nearest_training_images(held_out, train, 16, exclude);
  const Nearest fake_nearest = nearest_training_images(image_features(fakes, o.fine_resolution, o.coarse_resolution),
                                                       train, 16);
  report.fake_images = fake_nearest.distance.size();
  report.threshold = percentile(real_nearest.distance, 1.0);
  report.flagged_fraction = fraction_below(fake_nearest.distance, report.threshold);
  report.fake_median = median(fake_nearest.distance);
  report.held_out_median = median(real_nearest.distance);
  report.closest_distance = *std::min_element(fake_nearest.distance.begin(), fake_nearest.distance.end());
  // Real against real: one half's distances judged by the other half's
  // 1st percentile. A generator that does not replay scores about as this.
  const size_t half = real_nearest.distance.size() / 2;
  report.baseline_flagged_fraction =
      half > 0 ? fraction_below(pick(real_nearest.distance, half, 2 * half),
                                percentile(pick(real_nearest.distance, 0, half), 1.0))
               : std::numeric_limits<double>::quiet_NaN();
  if (!o.pairs_png.empty()) {
    write_pairs(o.pairs_png, fakes, fake_nearest, real, o.pairs);
    report.pairs_png = o.pairs_png;
  }
  return report;
}

std::string json_levels(const SwdResult& swd) {
  std::string out = "{";
  for (size_t i = 0; i < swd.resolutions.size(); ++i)
    out += (i ? ", " : "") + json_string(std::to_string(swd.resolutions[i])) + ": " + json_number(swd.per_level[i]);
  return out + "}";
}

std::string text_levels(const SwdResult& swd) {
  std::ostringstream s;
  char buffer[64];
  for (size_t i = 0; i < swd.resolutions.size(); ++i) {
    std::snprintf(buffer, sizeof buffer, "%5d: %8.3f", swd.resolutions[i], swd.per_level[i]);
    s << buffer << (i + 1 < swd.resolutions.size() ? "  " : "");
  }
  std::snprintf(buffer, sizeof buffer, "   average: %8.3f", swd.average);
  return s.str() + buffer;
}

// Ascending indexes as runs [first, last].
std::vector<std::pair<uint64_t, uint64_t>> index_runs(const std::vector<uint64_t>& indexes) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (const uint64_t i : indexes) {
    if (!runs.empty() && runs.back().second + 1 == i)
      runs.back().second = i;
    else
      runs.emplace_back(i, i);
  }
  return runs;
}

// "0-91, 95, 97-99" (the first `most` runs, then how many more).
std::string index_runs_text(const std::vector<uint64_t>& indexes, size_t most = 12) {
  const auto runs = index_runs(indexes);
  std::string text;
  for (size_t i = 0; i < runs.size() && i < most; ++i) {
    text += (i ? ", " : "") + std::to_string(runs[i].first);
    if (runs[i].second != runs[i].first) text += "-" + std::to_string(runs[i].second);
  }
  if (runs.size() > most) text += " and " + std::to_string(runs.size() - most) + " more runs";
  return text;
}

std::string coverage_json(const std::vector<EvalReport::Coverage>& levels) {
  std::ostringstream s;
  for (size_t i = 0; i < levels.size(); ++i) {
    const EvalReport::Coverage& c = levels[i];
    s << (i ? ", " : "") << "{\"resolution\": " << c.resolution << ", \"images\": " << c.generated.real
      << ", \"generated_draws\": " << c.draws
      << ", \"precision\": " << json_number(c.generated.precision) << ", \"recall\": " << json_number(c.generated.recall)
      << ", \"density\": " << json_number(c.generated_density_coverage.density)
      << ", \"coverage\": " << json_number(c.generated_density_coverage.coverage) << ", \"uncovered_real_records\": [";
    const auto runs = index_runs(c.uncovered_real);
    for (size_t r = 0; r < runs.size(); ++r) s << (r ? ", " : "") << "[" << runs[r].first << ", " << runs[r].second << "]";
    s << "], \"baseline\": {\"images_per_half\": " << c.baseline.real
      << ", \"precision\": " << json_number(c.baseline.precision) << ", \"recall\": " << json_number(c.baseline.recall)
      << ", \"density\": " << json_number(c.baseline_density_coverage.density)
      << ", \"coverage\": " << json_number(c.baseline_density_coverage.coverage) << "}}";
  }
  return s.str();
}

// A diverged checkpoint is named, not measured as black pictures.
FakeImages checked_generated_images(const EvalOptions& o, CheckpointDrawer& drawer) {
  try {
    return generated_images(o, drawer);
  } catch (const NonFiniteOutput& e) {
    throw InputError(o.fake, std::string(e.what()) + "; nothing to measure");
  }
}

// FID/KID/PR: generated images drawn (or read) a batch at a time.
// `drawer`: the checkpoint's, or null when FAKE is a set of images.
std::vector<FeatureMetricReport> feature_metrics(const EvalOptions& o, const ImageCollection& real,
                                                 CheckpointDrawer* drawer, const ImageCollection* stored,
                                                 EvalReport& report) {
  FeatureRun run;
  run.real = &real;
  run.split = o.split;
  run.batch = o.batch;
  run.seed = o.seed;
  run.device = o.device;
  run.show_progress = o.show_progress;
  ImageSource draw;
  std::vector<uint64_t> order;
  size_t next = 0;
  if (drawer) {
    report.fake_kind = drawer->kind();
    report.fake_note = drawer->note();
    run.generated = o.feature_images;
    draw = [images = drawer->seeded_images(o.seed, o.truncation)](int64_t count) { return images(count); };
  } else {
    report.fake_kind = stored->kind();
    order = pick_indexes(stored->length(TRAIN), static_cast<uint64_t>(o.feature_images), o.seed + 1);
    run.generated = static_cast<int64_t>(order.size());
    draw = [&](int64_t count) {
      const std::vector<uint64_t> chunk(order.begin() + static_cast<std::ptrdiff_t>(next),
                                        order.begin() + static_cast<std::ptrdiff_t>(next + static_cast<size_t>(count)));
      next += static_cast<size_t>(count);
      return stored->read(TRAIN, chunk);
    };
  }
  try {
    return evaluate_features(o.feature_metrics, run, draw);
  } catch (const NonFiniteOutput& e) {
    throw InputError(o.fake, std::string(e.what()) + "; nothing to measure");
  }
}

// Every metric of one pair of sets: REAL, and the images of `drawer` (a
// checkpoint, opened once for both kinds of metric) or of `stored`.
EvalReport evaluate_sets(const EvalOptions& o, const std::vector<int>& resolutions, const ImageCollection& real,
                         CheckpointDrawer* drawer, const ImageCollection* stored) {
  const auto start = std::chrono::steady_clock::now();
  EvalReport report;
  report.fake = o.fake;
  report.real = o.real;
  report.size = o.size;
  report.split = split_display_name(o.split);
  report.real_kind = real.kind();
  report.channels = real.channels();
  const uint64_t real_length = real.length(o.split);
  if (real_length < 2)
    throw InputError(o.real, "the " + report.split + " split holds " + std::to_string(real_length) + " images" +
                                 (o.class_name.empty() ? "" : " of class '" + o.class_name + "'") +
                                 "; at least two are needed");
  if (o.feature_metrics.any()) report.features = feature_metrics(o, real, drawer, stored, report);
  report.pixel_metrics = o.pixel_metrics;
  if (!o.pixel_metrics) {
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }
  const std::vector<uint64_t> real_indexes = pick_indexes(real_length, static_cast<uint64_t>(o.n), o.seed + 2);
  const torch::Tensor real_images = real.read(o.split, real_indexes);

  FakeImages fake = drawer ? checked_generated_images(o, *drawer) : stored_images(o, *stored);
  fake.images = convert_channels(fake.images, report.channels).contiguous();
  report.fake_kind = fake.kind;
  report.fake_note = fake.note;

  // The distance, and the same between the halves of the real sample.
  const int levels = static_cast<int>(resolutions.size());
  const int64_t per_image = o.swd.patches_per_image;
  const auto real_descriptors = patch_descriptors(real_images, levels, o.swd, o.seed * 2 + 1);
  {
    const auto fake_descriptors = patch_descriptors(fake.images, levels, o.swd, o.seed * 2 + 2);
    const int64_t compared = std::min(real_images.size(0), fake.images.size(0));
    report.compared_images = static_cast<uint64_t>(compared);
    report.swd = swd_from_descriptors(image_rows(fake_descriptors, 0, compared, per_image),
                                      image_rows(real_descriptors, 0, compared, per_image), report.channels,
                                      resolutions, o.swd);
  }
  const int64_t half = real_images.size(0) / 2;
  report.baseline_images = static_cast<uint64_t>(half);
  report.baseline = swd_from_descriptors(image_rows(real_descriptors, 0, half, per_image),
                                         image_rows(real_descriptors, half, 2 * half, per_image), report.channels,
                                         resolutions, o.swd);

  for (const int resolution : {kLayoutResolution, std::min(o.size, o.fine_resolution)})
    report.coverage.push_back(coverage_at(resolution, real_images, real_indexes, fake.images, report.compared_images));
  report.fake_border = border_brightness(fake.images);
  report.real_border = border_brightness(real_images);
  const uint64_t train_length = real.length(TRAIN);
  if (train_length < 2) throw InputError(real.path(), "needs at least two training images to check memorisation");
  // Read once, for the memorisation check and the audit.
  const ImageFeatures train = split_features(real, TRAIN, every_index(train_length), o, "training set");
  report.memorization = check_memorization(o, real, fake.images, train);
  if (o.audit) {
    AuditOptions audit;
    audit.train_features = &train;
    audit.fine_resolution = o.fine_resolution;
    audit.coarse_resolution = o.coarse_resolution;
    audit.held_out_images = static_cast<uint64_t>(o.n);
    audit.seed = o.seed;
    audit.csv = o.audit_csv;
    audit.png = o.audit_png;
    // In a feature network's space too, when sg_eval was given one (a
    // domain network first, then VGG16, then Inception).
    const FeatureMetricOptions& f = o.feature_metrics;
    const FeatureKind kind = !f.features.empty() ? FeatureKind::Custom
                             : !f.vgg.empty()    ? FeatureKind::Vgg
                                                 : FeatureKind::Inception;
    const std::string file = !f.features.empty() ? f.features : !f.vgg.empty() ? f.vgg : f.inception;
    if (!file.empty()) {
      auto network = std::make_shared<FeatureNetwork>(file, kind, resolve_device(o.device));
      audit.features = [network](const torch::Tensor& images) { return network->features(images); };
      audit.feature_network = std::string(feature_kind_info(kind).name) + " (" + network->label() + ")";
    }
    report.audit = audit_patients(real, fake.images, audit);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

// A per-class file (the closest pairs, the audit): NAME_<class>.EXT beside NAME.EXT.
std::string class_pairs_png(const std::string& pairs_png, const std::string& class_name) {
  if (pairs_png.empty()) return "";
  const fs::path path(pairs_png);
  return (path.parent_path() / (path.stem().string() + "_" + class_name + path.extension().string())).string();
}

// The classes a per-class evaluation compares: those of the fake side (a
// conditional checkpoint's or a labelled set's), each of which REAL must hold.
std::vector<std::string> classes_to_compare(const EvalOptions& o, const std::vector<std::string>& real_classes,
                                            const std::vector<std::string>& fake_classes, bool checkpoint) {
  if (real_classes.empty())
    throw InputError(o.real, "holds no class labels to compare class by class (sg_prep writes them with a "
                             "config's `labels` rule)");
  if (fake_classes.empty())
    throw InputError(o.fake, checkpoint ? "an unconditional checkpoint draws no class ('" + o.class_name + "')"
                                        : "holds no class labels to compare class by class ('" + o.class_name + "')");
  const std::vector<std::string> classes =
      o.class_name == "all" ? fake_classes : std::vector<std::string>{o.class_name};
  for (const std::string& name : classes) {
    class_index_of(o.fake, fake_classes, name);
    class_index_of(o.real, real_classes, name);
  }
  return classes;
}

}  // namespace

EvalReport evaluate(const EvalOptions& o, const CheckpointOpener& open) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> resolutions = swd_resolutions(o.size, o.swd.min_resolution);
  if (resolutions.empty() || (o.size & (o.size - 1)) != 0)
    throw std::invalid_argument("--size must be a power of two of at least " + std::to_string(o.swd.min_resolution));
  if (o.n < 2) throw std::invalid_argument("--n must be at least 2");

  const auto real = ImageCollection::open(o.real, o.size);
  std::error_code ec;
  const bool checkpoint = fs::is_regular_file(o.fake, ec);
  const DrawRequest request{o.size, o.device, o.raw_generator};
  const std::unique_ptr<CheckpointDrawer> drawer = checkpoint ? open(o.fake, request) : nullptr;
  const std::unique_ptr<ImageCollection> stored = checkpoint ? nullptr : ImageCollection::open(o.fake, o.size);
  if (o.class_name.empty()) return evaluate_sets(o, resolutions, *real, drawer.get(), stored.get());

  const std::vector<std::string> real_classes = real->class_names();
  const std::vector<std::string> fake_classes = checkpoint ? drawer->class_names() : stored->class_names();
  const std::vector<std::string> classes = classes_to_compare(o, real_classes, fake_classes, checkpoint);
  EvalReport report;
  if (o.class_name == "all") {
    EvalOptions overall = o;
    overall.class_name.clear();
    report = evaluate_sets(overall, resolutions, *real, drawer.get(), stored.get());
  }
  for (const std::string& name : classes) {
    EvalOptions one = o;
    one.class_name = name;
    if (o.class_name == "all") {
      one.pairs_png = class_pairs_png(o.pairs_png, name);
      one.audit_csv = class_pairs_png(o.audit_csv, name);
      one.audit_png = class_pairs_png(o.audit_png, name);
    }
    const auto real_class = class_subset(*real, class_index_of(o.real, real_classes, name));
    EvalReport result;
    if (checkpoint) {
      DrawRequest class_request = request;
      class_request.class_index = class_index_of(o.fake, fake_classes, name);
      result = evaluate_sets(one, resolutions, *real_class, open(o.fake, class_request).get(), nullptr);
    } else {
      const auto fake_class = class_subset(*stored, class_index_of(o.fake, fake_classes, name));
      result = evaluate_sets(one, resolutions, *real_class, nullptr, fake_class.get());
    }
    result.class_name = name;
    if (o.class_name == "all") report.classes.push_back(std::move(result));
    else report = std::move(result);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

namespace {

std::string feature_json(const std::vector<FeatureMetricReport>& reports) {
  std::ostringstream s;
  for (size_t i = 0; i < reports.size(); ++i) {
    const FeatureMetricReport& f = reports[i];
    s << (i ? ",\n    " : "") << "{\"network\": " << json_string(f.network) << ", \"file\": " << json_string(f.file)
      << ", \"features\": " << f.dimensions << ", \"generated\": " << f.generated << ", \"real\": " << f.real
      << ", \"real_from_cache\": " << (f.real_from_cache ? "true" : "false");
    if (std::isfinite(f.fid)) s << ", \"fid\": " << json_number(f.fid);
    if (std::isfinite(f.kid)) s << ", \"kid\": " << json_number(f.kid);
    if (f.has_pr)
      s << ", \"precision\": " << json_number(f.pr.precision) << ", \"recall\": " << json_number(f.pr.recall)
        << ", \"k\": " << f.pr.k;
    if (f.has_dc)
      s << ", \"density\": " << json_number(f.dc.density) << ", \"coverage\": " << json_number(f.dc.coverage)
        << ", \"density_coverage_k\": " << f.dc.k;
    s << ", \"generated_images_per_second\": " << json_number(f.generated_images_per_second)
      << ", \"real_images_per_second\": " << json_number(f.real_images_per_second) << "}";
  }
  return s.str();
}

// The headline numbers under the names stylegan2-ada-pytorch's reports use.
std::string feature_headlines(const std::vector<FeatureMetricReport>& reports) {
  std::ostringstream s;
  for (const FeatureMetricReport& f : reports) {
    const std::string suffix = f.kind == FeatureKind::Custom ? "_custom" : "";
    if (std::isfinite(f.fid)) s << "  \"fid" << suffix << "\": " << json_number(f.fid) << ",\n";
    if (std::isfinite(f.kid)) s << "  \"kid\": " << json_number(f.kid) << ",\n";
    if (f.has_pr)
      s << "  \"pr_precision\": " << json_number(f.pr.precision) << ",\n  \"pr_recall\": " << json_number(f.pr.recall)
        << ",\n";
    if (f.has_dc)
      s << "  \"pr_density\": " << json_number(f.dc.density) << ",\n  \"pr_coverage\": " << json_number(f.dc.coverage)
        << ",\n";
  }
  return s.str();
}

// A report nested in another's JSON: every line but the first indented.
std::string indented(const std::string& json, const std::string& indent) {
  std::string out;
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '\n' && i + 1 < json.size()) out += indent;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string class_json(const EvalReport& r) {
  std::ostringstream s;
  if (!r.class_name.empty()) s << "  \"class\": " << json_string(r.class_name) << ",\n";
  if (r.classes.empty()) return s.str();
  s << "  \"classes\": {";
  for (size_t i = 0; i < r.classes.size(); ++i)
    s << (i ? "," : "") << "\n    " << json_string(r.classes[i].class_name) << ": "
      << indented(report_json(r.classes[i]), "    ");
  s << "\n  },\n";
  return s.str();
}

}  // namespace

std::string report_json(const EvalReport& r) {
  const MemorizationReport& m = r.memorization;
  std::ostringstream s;
  s << "{\n" << class_json(r) << feature_headlines(r.features);
  if (!r.features.empty()) s << "  \"feature_metrics\": [" << feature_json(r.features) << "],\n";
  if (!r.pixel_metrics) {
    s << "  \"size\": " << r.size << ",\n"
      << "  \"fake\": {\"path\": " << json_string(r.fake) << ", \"kind\": " << json_string(r.fake_kind) << "},\n"
      << "  \"real\": {\"path\": " << json_string(r.real) << ", \"kind\": " << json_string(r.real_kind)
      << ", \"split\": " << json_string(r.split) << "},\n"
      << "  \"seconds\": " << json_number(r.seconds) << "\n}\n";
    return s.str();
  }
  s << "  \"swd\": " << json_number(r.swd.average) << ",\n"
    << "  \"swd_per_level\": " << json_levels(r.swd) << ",\n"
    << "  \"size\": " << r.size << ",\n"
    << "  \"channels\": " << r.channels << ",\n"
    << "  \"images_compared\": " << r.compared_images << ",\n"
    << "  \"fake\": {\"path\": " << json_string(r.fake) << ", \"kind\": " << json_string(r.fake_kind) << "},\n"
    << "  \"real\": {\"path\": " << json_string(r.real) << ", \"kind\": " << json_string(r.real_kind)
    << ", \"split\": " << json_string(r.split) << "},\n"
    << "  \"baseline\": {\"what\": \"two disjoint halves of the real images\", \"images_per_half\": "
    << r.baseline_images << ", \"swd\": " << json_number(r.baseline.average)
    << ", \"swd_per_level\": " << json_levels(r.baseline)
    << ", \"memorization_flagged_fraction\": " << json_number(m.baseline_flagged_fraction) << "},\n"
    << "  \"memorization\": {\n"
    << "    \"resolution\": " << m.resolution << ",\n"
    << "    \"distance\": \"RMS pixel difference on a 0..1 scale to the nearest training image\",\n"
    << "    \"train_images\": " << m.train_images << ",\n"
    << "    \"held_out\": " << json_string(m.held_out) << ",\n"
    << "    \"held_out_images\": " << m.held_out_images << ",\n"
    << "    \"fake_images\": " << m.fake_images << ",\n"
    << "    \"threshold_1st_percentile\": " << json_number(m.threshold) << ",\n"
    << "    \"flagged_fraction\": " << json_number(m.flagged_fraction) << ",\n"
    << "    \"fake_median_distance\": " << json_number(m.fake_median) << ",\n"
    << "    \"held_out_median_distance\": " << json_number(m.held_out_median) << ",\n"
    << "    \"closest_distance\": " << json_number(m.closest_distance) << ",\n"
    << "    \"closest_pairs_png\": " << (m.pairs_png.empty() ? "null" : json_string(m.pairs_png)) << "\n"
    << "  },\n"
    << "  \"precision_recall\": {\"what\": \"k-NN precision and recall (Kynkaanniemi et al. 2019) on box-averaged "
       "pixels, k = "
    << kCoverageK << "; density and coverage (Naeem et al. 2020), k = " << kDensityCoverageK
    << "; baseline: one half of the real images against the other\", \"levels\": ["
    << coverage_json(r.coverage) << "]},\n"
    << "  \"border_brightness\": {\"what\": \"mean of the outer 1-pixel ring, 0..255\", \"generated\": "
    << json_number(r.fake_border) << ", \"real\": " << json_number(r.real_border) << "},\n";
  if (r.audit) s << "  \"audit\": " << audit_json(*r.audit) << ",\n";
  s
    << "  \"seconds\": " << json_number(r.seconds) << "\n"
    << "}\n";
  return s.str();
}

std::string format_report(const EvalReport& r) {
  const MemorizationReport& m = r.memorization;
  std::ostringstream s;
  if (!r.classes.empty()) {
    s << "all classes:\n";
    EvalReport whole = r;
    whole.classes.clear();
    s << format_report(whole);
    for (const EvalReport& c : r.classes) s << "\n" << format_report(c);
    return s.str();
  }
  if (!r.class_name.empty()) s << "class " << r.class_name << ":\n";
  char line[512];
  for (const FeatureMetricReport& f : r.features) {
    std::snprintf(line, sizeof line, "%s features (%s, %lld-D): %lld generated vs all %lld real of the %s split%s\n",
                  f.network.c_str(), f.file.c_str(), static_cast<long long>(f.dimensions),
                  static_cast<long long>(f.generated), static_cast<long long>(f.real), r.split.c_str(),
                  f.real_from_cache ? " (real features from the cache)" : "");
    s << line;
    if (std::isfinite(f.fid)) {
      std::snprintf(line, sizeof line, "  FID %.4f\n", f.fid);
      s << line;
    }
    if (std::isfinite(f.kid)) {
      std::snprintf(line, sizeof line, "  KID %.6f (x1e3: %.3f)\n", f.kid, 1e3 * f.kid);
      s << line;
    }
    if (f.has_pr) {
      std::snprintf(line, sizeof line, "  precision %.4f, recall %.4f (k-NN, k = %d)\n", f.pr.precision, f.pr.recall,
                    f.pr.k);
      s << line;
    }
    if (f.has_dc) {
      std::snprintf(line, sizeof line, "  density %.4f, coverage %.4f (k-NN, k = %d)\n", f.dc.density, f.dc.coverage,
                    f.dc.k);
      s << line;
    }
    std::snprintf(line, sizeof line, "  %.1f generated images/s (drawing and features)%s\n",
                  f.generated_images_per_second,
                  f.real_from_cache ? "" : (", " + std::to_string(static_cast<int>(f.real_images_per_second)) +
                                            " real images/s").c_str());
    s << line;
  }
  if (!r.pixel_metrics) {
    std::snprintf(line, sizeof line, "evaluated in %.1f s\n", r.seconds);
    return s.str() + line;
  }
  s << "SWD x1e3, " << r.size << "x" << r.size << ", " << r.fake_kind << " vs " << r.real_kind << " " << r.split
    << " split:\n";
  const std::string generated = "generated vs real (" + std::to_string(r.compared_images) + " each):";
  const std::string halves = "real half vs real half (" + std::to_string(r.baseline_images) + " each):";
  std::snprintf(line, sizeof line, "  %-38s%s\n  %-38s%s\n", generated.c_str(), text_levels(r.swd).c_str(),
                halves.c_str(), text_levels(r.baseline).c_str());
  s << line;
  std::snprintf(line, sizeof line,
                "memorisation at %dx%d (RMS pixel distance to the nearest of %llu training images, 0..1):\n"
                "  generated: median %.4f, closest %.4f; %.2f%% closer than the held-out 1st percentile %.4f\n"
                "  held-out real (%s, %llu images): median %.4f; real-vs-real baseline %.2f%%\n",
                m.resolution, m.resolution, static_cast<unsigned long long>(m.train_images), m.fake_median,
                m.closest_distance, 100 * m.flagged_fraction, m.threshold, m.held_out.c_str(),
                static_cast<unsigned long long>(m.held_out_images), m.held_out_median,
                100 * m.baseline_flagged_fraction);
  s << line;
  for (const EvalReport::Coverage& c : r.coverage) {
    std::snprintf(line, sizeof line,
                  "precision %.3f, recall %.3f (k-NN, k = %d, pixels at %dx%d, %lld images each, mean of %d "
                  "generated draws; real half vs real half: %.3f, %.3f)\n",
                  c.generated.precision, c.generated.recall, kCoverageK, c.resolution, c.resolution,
                  static_cast<long long>(c.generated.real), c.draws, c.baseline.precision, c.baseline.recall);
    s << line;
    std::snprintf(line, sizeof line, "  density %.3f, coverage %.3f (k = %d, the same draws; real half vs real half: %.3f, %.3f)\n",
                  c.generated_density_coverage.density, c.generated_density_coverage.coverage, kDensityCoverageK,
                  c.baseline_density_coverage.density, c.baseline_density_coverage.coverage);
    s << line;
    if (!c.uncovered_real.empty())
      s << "  real records no generated image reaches (in most draws; indexes in the split): "
        << c.uncovered_real.size() << " of " << c.generated.real << ": " << index_runs_text(c.uncovered_real) << "\n";
  }
  std::snprintf(line, sizeof line, "border brightness (outer 1-pixel ring, 0..255): generated %.2f, real %.2f\n",
                r.fake_border, r.real_border);
  s << line;
  if (!m.pairs_png.empty()) s << "closest pairs (generated above, training below): " << m.pairs_png << "\n";
  if (r.audit) s << format_audit(*r.audit);
  std::snprintf(line, sizeof line, "evaluated in %.1f s\n", r.seconds);
  s << line;
  return s.str();
}

}  // namespace sg
