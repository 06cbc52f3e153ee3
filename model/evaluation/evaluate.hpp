#pragma once
// sg_eval as a library: how close generated images are to the real ones
// (sliced Wasserstein distance, ProGAN's definition), whether they replay
// training images (nearest-neighbour distances against held-out real
// images), and both metrics between two halves of the real data as the
// baseline to read them by.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataset.pb.h"
#include "model/core/checkpoint_drawer.hpp"
#include "model/evaluation/audit.hpp"
#include "model/evaluation/coverage.hpp"
#include "model/evaluation/feature_evaluation.hpp"
#include "model/evaluation/swd.hpp"

namespace sg {

struct EvalOptions {
  std::string fake;   // checkpoint, LMDB or folder of images
  std::string real;   // LMDB or folder of images
  int size = 0;
  Split split = TRAIN;  // of REAL, for the distance
  int64_t n = 10000;    // images per set (fewer when a set has fewer)
  uint64_t seed = 0;
  double truncation = 1.0;  // for a checkpoint; 1 draws the model's full distribution
  bool raw_generator = false;  // for a checkpoint: the trained generator, not its EMA (g_running)
  std::string device;
  int batch = 32;           // generation batch
  int pairs = 16;           // closest generated/training pairs in the picture
  std::string pairs_png;    // where to write them ("" = not written)
  int fine_resolution = 64, coarse_resolution = 16;
  bool show_progress = false;
  SwdOptions swd;
  // The pixel metrics (SWD, memorisation, pixel precision/recall, border
  // brightness: sg_eval's "swd"), and the network-feature ones.
  bool pixel_metrics = true;
  FeatureMetricOptions feature_metrics;
  int64_t feature_images = 50000;  // generated images for the feature metrics (stylegan2-ada-pytorch's 50k)
  // "" compares the sets whole; a class name compares that class's images
  // of both (a conditional checkpoint drawing it, or a labelled set's, against
  // REAL's labelled images of it); "all": the sets whole, then every class.
  std::string class_name;
  // The per-patient audit (model/evaluation/audit.hpp) of REAL's training
  // patients, with its CSV and picture (class-suffixed per class).
  bool audit = false;
  std::string audit_csv, audit_png;
};

struct MemorizationReport {
  int resolution = 0;                 // of the pixel distance
  uint64_t train_images = 0;
  std::string held_out;               // where the held-out real images came from
  uint64_t held_out_images = 0;
  uint64_t fake_images = 0;
  double threshold = 0;               // 1st percentile of held-out-to-train distances
  double flagged_fraction = 0;        // generated images closer than that
  double baseline_flagged_fraction = 0;  // held-out half vs the other half's threshold
  double fake_median = 0, held_out_median = 0;
  double closest_distance = 0;
  std::string pairs_png;
};

struct EvalReport {
  std::string fake, fake_kind, real, real_kind, split;
  std::string fake_note;              // what a reference checkpoint lacked ("" otherwise)
  int size = 0, channels = 0;
  uint64_t compared_images = 0;       // per set in the distance
  SwdResult swd;
  uint64_t baseline_images = 0;       // per half
  SwdResult baseline;
  MemorizationReport memorization;
  // k-NN precision and recall, density and coverage on box-averaged pixels, the compared images
  // of each set, and the same between the halves of the real sample: at
  // 8x8 (the layout: outline, size, ventricles; what a slice's level shows,
  // where generated texture noise averages out) and at the memorisation
  // check's resolution (every pixel, at most 64x64).
  struct Coverage {
    int resolution = 0;
    int draws = 0;  // disjoint draws of generated images averaged
    PrecisionRecall generated, baseline;
    // Density and coverage (k = 5) of the same draws and halves: what the
    // samples reach of the real images' own neighbourhoods.
    DensityCoverage generated_density_coverage, baseline_density_coverage;
    // The real records (indexes in the split, ascending) inside no
    // generated ball in most draws: what the generator misses.
    std::vector<uint64_t> uncovered_real;
  };
  std::vector<Coverage> coverage;
  // Mean of the outer 1-pixel ring (0..255): frame and corner artifacts.
  double fake_border = 0, real_border = 0;
  bool pixel_metrics = true;  // false: only the feature metrics were measured
  std::vector<FeatureMetricReport> features;
  double seconds = 0;
  std::optional<AuditReport> audit;   // with options.audit
  std::string class_name;             // the class compared ("" for the whole sets)
  std::vector<EvalReport> classes;    // with class "all": one report per class
};

// `open` draws a checkpoint given as `fake` (the GAN factory's
// open_checkpoint); image sets need none. A per-class comparison needs
// labels on both sides: InputError naming the side without them, or the
// class one side lacks.
EvalReport evaluate(const EvalOptions& options, const CheckpointOpener& open);

// The report as JSON (top-level "swd": the average over levels, x 10^3).
std::string report_json(const EvalReport& report);
// The report as a few lines for a terminal.
std::string format_report(const EvalReport& report);

}  // namespace sg
