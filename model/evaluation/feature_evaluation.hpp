#pragma once
// FID, KID and precision/recall of generated images against a real split,
// as stylegan2-ada-pytorch's fid50k_full, kid50k_full and pr50k3_full
// compute them: every real image of the split, n generated ones (its 50,000;
// configurable for small data), Inception-v3 pool features for FID and KID,
// VGG16 features for precision/recall (k = 3), optionally a user's network
// for a domain FID. Generated images are drawn a batch at a time and only
// their features are kept. Real features are cached per network, real set
// content (an LMDB's inputs digest and meta), split and size.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "dataset.pb.h"
#include "model/evaluation/coverage.hpp"
#include "model/evaluation/feature_network.hpp"
#include "model/evaluation/image_set.hpp"

namespace sg {

struct FeatureMetricOptions {
  bool fid = false, kid = false, pr = false;
  std::string inception, vgg, features;  // files given by flags ("" = the environment's)
  int kid_subsets = 100;                 // kid50k_full: 100 subsets of up to 1,000
  int64_t kid_subset_size = 1000;
  int pr_k = 3;
  int dc_k = 5;                          // density/coverage beside pr (Naeem et al. 2020's k)
  std::string cache_dir;                 // real-feature cache ("" = none)
  bool any() const { return fid || kid || pr || !features.empty(); }
};

struct FeatureMetricReport {
  FeatureKind kind = FeatureKind::Inception;
  std::string network;  // feature_kind_info(kind).name: "Inception-v3", "VGG16", "custom"
  std::string file;
  int64_t generated = 0, real = 0, dimensions = 0;
  double fid = std::numeric_limits<double>::quiet_NaN();
  double kid = std::numeric_limits<double>::quiet_NaN();
  bool has_pr = false;
  PrecisionRecall pr;
  bool has_dc = false;  // with pr where both sets hold more than dc_k images
  DensityCoverage dc;
  bool real_from_cache = false;
  double generated_images_per_second = 0;  // drawing and features together
  double real_images_per_second = 0;       // reading and features (0 when cached)
};

// The next `count` generated uint8 images [count, c, s, s].
using ImageSource = std::function<torch::Tensor(int64_t count)>;

struct FeatureRun {
  const ImageCollection* real = nullptr;
  Split split = TRAIN;
  int64_t generated = 0;  // images to draw from `draw`
  int batch = 64;
  uint64_t seed = 0;      // KID's subsets
  std::string device;     // for the networks
  bool show_progress = false;
};

// "swd,fid,kid,pr" (any of them, comma-separated) into `swd` and the
// options' flags; "" when it reads, else what is wrong, for one line.
std::string parse_metric_list(const std::string& list, bool& swd, FeatureMetricOptions& options);

// $XDG_CACHE_HOME/sg-metrics, else ~/.cache/sg-metrics ("" without either).
std::string default_feature_cache_dir();

// One report per network used: Inception (FID, KID), VGG16 (precision,
// recall), custom (FID). Throws InputError for a missing or unusable file.
std::vector<FeatureMetricReport> evaluate_features(const FeatureMetricOptions& options, const FeatureRun& run,
                                                   const ImageSource& draw);

}  // namespace sg
