#pragma once
// Which patients does a generator replay? For every generated image its
// nearest training image (RMS pixel distance), counted per training patient
// against the copy criterion of medical memorisation studies: a sample is a
// copy when it lies closer to a training image than any held-out image lies
// to its nearest training image. Held-out images come from REAL's validate
// (else test) split, whose patients never train; without one, each of a
// sample of training images against the other patients' images.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "model/evaluation/image_set.hpp"
#include "model/evaluation/memorization.hpp"

namespace sg {

struct AuditOptions {
  int fine_resolution = 64, coarse_resolution = 16;  // as the memorisation check
  uint64_t held_out_images = 10000;                  // at most, drawn with `seed`
  uint64_t seed = 0;
  std::string csv;  // the ranked patients as CSV ("" = not written)
  std::string png;  // the closest generated/training pairs, patients named ("" = not written)
  int pairs = 8;
  // A feature network's features of uint8 images [n, c, s, s] as float
  // [n, d] (issue 28's networks): the same audit in its feature space too.
  std::function<torch::Tensor(const torch::Tensor&)> features;
  std::string feature_network;  // its name in the report
  // The pixel features of the whole training split at these resolutions,
  // when the caller has them already (sg_eval's memorisation check); read
  // here otherwise.
  const ImageFeatures* train_features = nullptr;
};

struct PatientAudit {
  std::string subject;           // as the LMDB stores it: the id, or its keyed hash
  uint64_t training_images = 0;
  uint64_t nearest_samples = 0;  // generated images whose nearest training image is this patient's
  uint64_t copies = 0;           // of them, closer than the threshold
  double closest = std::numeric_limits<double>::infinity();  // of those samples' distances
  // In the feature network's space, when one was given.
  uint64_t feature_nearest_samples = 0, feature_copies = 0;
};

struct AuditReport {
  int resolution = 0;
  uint64_t generated = 0, training_images = 0;
  std::string held_out;          // where the held-out distances came from
  uint64_t held_out_images = 0;
  double threshold = 0;          // the smallest held-out-to-training distance
  uint64_t copies = 0;           // generated images below it
  // What real images of unseen patients would score: each lies below the
  // smallest of m held-out distances with odds 1 / (m + 1).
  double chance_copies = 0;
  bool pseudonymised = false;    // the subjects are keyed hashes
  std::vector<PatientAudit> patients;  // every training patient: most copies first, then closest
  std::string csv, png;
  // The feature-space audit ("" network: none): its threshold (Euclidean
  // distance of features) and copies.
  std::string feature_network;
  double feature_threshold = 0;
  uint64_t feature_copies = 0;
};

// `generated`: uint8 [n, c, s, s] at REAL's size and channels. InputError
// naming REAL when it keeps no subject per record, or holds one patient
// and no held-out split.
AuditReport audit_patients(const ImageCollection& real, const torch::Tensor& generated, const AuditOptions& options);

// The report in JSON (an object) and as lines for a terminal (the first
// `shown` patients).
std::string audit_json(const AuditReport& report);
std::string format_audit(const AuditReport& report, size_t shown = 10);

}  // namespace sg
