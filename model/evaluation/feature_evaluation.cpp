#include "model/evaluation/feature_evaluation.hpp"

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/errors.hpp"
#include "common/hashing.hpp"
#include "common/progress.hpp"
#include "datasets/lmdb_keys.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/feature_metrics.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct ActiveNetwork {
  std::unique_ptr<FeatureNetwork> network;
  FeatureMetricReport report;
  torch::Tensor real;                      // [n_real, d]
  std::vector<torch::Tensor> generated;    // batches of [b, d]
};

// Where a real set's features under one network are cached: "" when the set
// has no content key or no cache folder is given.
std::string cache_path(const FeatureMetricOptions& o, const FeatureRun& run, const FeatureNetwork& network) {
  const std::string content = run.real->content_key();
  if (o.cache_dir.empty() || content.empty()) return "";
  const std::string key = content + "|" + split_display_name(run.split) + "|" + std::to_string(run.real->size()) + "|" +
                          std::to_string(network.digest());
  const std::string hex = hex64(mix64(fnv1a64(key.data(), key.size())));
  return (fs::path(o.cache_dir) / ("real-" + network.label() + "-" + hex + ".pt")).string();
}

torch::Tensor cached_features(const std::string& path) {
  std::error_code error;
  if (path.empty() || !fs::is_regular_file(path, error)) return {};
  try {
    torch::Tensor features;
    torch::load(features, path);
    return features.dim() == 2 ? features : torch::Tensor();
  } catch (const std::exception&) {
    return {};  // unreadable: measured again and rewritten
  }
}

void store_features(const std::string& path, const torch::Tensor& features) {
  if (path.empty()) return;
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  const std::string partial = path + ".partial";
  try {
    torch::save(features, partial);
    fs::rename(partial, path);
  } catch (const std::exception&) {
    fs::remove(partial, error);  // a cache: failing to write it costs only time
  }
}

// Every image of the real split through the networks that lack cached
// features, a chunk at a time.
void measure_real(std::vector<ActiveNetwork*>& networks, const FeatureRun& run) {
  if (networks.empty()) return;
  const uint64_t length = run.real->length(run.split);
  const auto start = Clock::now();
  std::vector<std::vector<torch::Tensor>> parts(networks.size());
  ProgressLine progress("real features", length, "images", run.show_progress);
  for (uint64_t first = 0; first < length; first += static_cast<uint64_t>(run.batch)) {
    std::vector<uint64_t> indexes;
    for (uint64_t i = first; i < std::min(length, first + static_cast<uint64_t>(run.batch)); ++i) indexes.push_back(i);
    const torch::Tensor images = run.real->read(run.split, indexes);
    for (size_t k = 0; k < networks.size(); ++k) parts[k].push_back(networks[k]->network->features(images));
    progress.update(first + indexes.size(), first + indexes.size());
  }
  progress.finish();
  const double rate = static_cast<double>(length) / std::max(1e-9, seconds_since(start));
  for (size_t k = 0; k < networks.size(); ++k) {
    networks[k]->real = torch::cat(parts[k]);
    networks[k]->report.real_images_per_second = rate;
  }
}

}  // namespace

std::string parse_metric_list(const std::string& list, bool& swd, FeatureMetricOptions& o) {
  swd = o.fid = o.kid = o.pr = false;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, end - start);
    if (item == "swd") swd = true;
    else if (item == "fid") o.fid = true;
    else if (item == "kid") o.kid = true;
    else if (item == "pr") o.pr = true;
    else return "unknown metric '" + item + "' (swd, fid, kid, pr)";
    start = end + 1;
  }
  return "";
}

std::string default_feature_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/sg-metrics";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/sg-metrics";
  return "";
}

std::vector<FeatureMetricReport> evaluate_features(const FeatureMetricOptions& o, const FeatureRun& run,
                                                   const ImageSource& draw) {
  if (!run.real) throw std::invalid_argument("feature metrics: no real image set");
  const uint64_t real_length = run.real->length(run.split);
  if (real_length < 2) throw InputError(run.real->path(), "the split holds fewer than two images");
  if (run.generated < 2) throw std::invalid_argument("feature metrics: at least two generated images");
  const torch::Device device = resolve_device(run.device);

  std::vector<ActiveNetwork> active;
  auto add = [&](FeatureKind kind, const std::string& flag_value, const std::string& metric) {
    const std::string path = resolve_feature_file(kind, flag_value, metric);
    ActiveNetwork a;
    a.network = std::make_unique<FeatureNetwork>(path, kind, device);
    a.report.kind = kind;
    a.report.network = feature_kind_info(kind).name;
    a.report.file = path;
    active.push_back(std::move(a));
  };
  if (o.fid || o.kid) add(FeatureKind::Inception, o.inception, o.fid ? "--metrics fid" : "--metrics kid");
  if (o.pr) add(FeatureKind::Vgg, o.vgg, "--metrics pr");
  if (!o.features.empty()) add(FeatureKind::Custom, o.features, "--features");

  // Real features: from the cache where they are, else measured (and cached).
  std::vector<ActiveNetwork*> to_measure;
  std::vector<std::string> caches;
  for (ActiveNetwork& a : active) {
    caches.push_back(cache_path(o, run, *a.network));
    a.real = cached_features(caches.back());
    if (a.real.defined() && a.real.size(0) == static_cast<int64_t>(real_length)) {
      a.report.real_from_cache = true;
    } else {
      a.real = torch::Tensor();
      to_measure.push_back(&a);
    }
  }
  measure_real(to_measure, run);
  for (size_t k = 0; k < active.size(); ++k)
    if (!active[k].report.real_from_cache) store_features(caches[k], active[k].real);

  // Generated: drawn a batch at a time, only the features kept.
  {
    const auto start = Clock::now();
    ProgressLine progress("generated features", static_cast<uint64_t>(run.generated), "images", run.show_progress);
    for (int64_t done = 0; done < run.generated;) {
      const int64_t count = std::min<int64_t>(run.batch, run.generated - done);
      const torch::Tensor images = draw(count);
      for (ActiveNetwork& a : active) a.generated.push_back(a.network->features(images));
      done += count;
      progress.update(static_cast<uint64_t>(done), static_cast<uint64_t>(done));
    }
    progress.finish();
    const double rate = static_cast<double>(run.generated) / std::max(1e-9, seconds_since(start));
    for (ActiveNetwork& a : active) a.report.generated_images_per_second = rate;
  }

  std::vector<FeatureMetricReport> reports;
  for (ActiveNetwork& a : active) {
    const torch::Tensor generated = torch::cat(a.generated);
    a.generated.clear();
    FeatureMetricReport& r = a.report;
    r.generated = generated.size(0);
    r.real = a.real.size(0);
    r.dimensions = generated.size(1);
    if (a.real.size(1) != generated.size(1))
      throw InputError(a.network->path(), "gives " + std::to_string(generated.size(1)) + " features for generated and " +
                                              std::to_string(a.real.size(1)) + " for real images");
    const FeatureKind kind = r.kind;
    if ((kind == FeatureKind::Inception && o.fid) || kind == FeatureKind::Custom) {
      FeatureMoments fake_moments, real_moments;
      fake_moments.add(generated);
      real_moments.add(a.real);
      r.fid = frechet_distance(fake_moments, real_moments);
    }
    if (kind == FeatureKind::Inception && o.kid)
      r.kid = kernel_inception_distance(generated, a.real, o.kid_subset_size, o.kid_subsets, run.seed);
    if (kind == FeatureKind::Vgg) {
      r.pr = knn_precision_recall(a.real, generated, o.pr_k);
      r.has_pr = true;
      r.has_dc = std::min(r.real, r.generated) > o.dc_k;
      if (r.has_dc) r.dc = knn_density_coverage(a.real, generated, o.dc_k);
    }
    reports.push_back(r);
  }
  return reports;
}

}  // namespace sg
