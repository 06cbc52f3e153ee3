#pragma once
// What rank 0 writes of a training run besides its checkpoints: log.csv
// (appended on resume), the TensorBoard events, the live line on a
// terminal, the sample grids, the loss plot and the training GIF.
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_writer.hpp"
#include "common/images/image.hpp"
#include "model/augment/adaptive.hpp"
#include "model/evaluation/feature_evaluation.hpp"
#include "model/evaluation/swd.hpp"

namespace sg {

// One logged iteration. `losses`: D, G and the penalty, then the
// architecture's extra scalars (TrainableGan::extra_scalar_names).
struct LogRow {
  int64_t iteration = 0;
  uint64_t images_seen = 0;
  int size = 0;
  double alpha = 1.0, lr = 0;
  std::vector<double> losses;
  double images_per_second = 0;
  std::optional<SwdResult> swd;
  std::vector<double> metrics;  // the feature metrics (metric_names), where measured
  const AugmentState* augment = nullptr;  // with --augment
};

// The columns of the feature metrics a run measures (--metrics): fid, kid,
// pr_precision, pr_recall, fid_custom; and their values from the reports.
std::vector<std::string> metric_names(const FeatureMetricOptions& options);
std::vector<double> metric_values(const FeatureMetricOptions& options, const std::vector<FeatureMetricReport>& reports);

// The live line's context: what the penalty is called, and the time left
// to the next growth (or the end) in seconds (negative: unknown).
struct LiveLine {
  std::string penalty_label;
  bool growing = true;
  double eta_seconds = -1;
};

class RunLog {
 public:
  // Opens (or, resuming, appends to) run/log.csv with its header, and the
  // TensorBoard events under run/tensorboard.
  RunLog(const std::string& run, std::vector<std::string> extra_names, bool augment, bool show_progress,
         std::vector<std::string> metric_names = {});

  // A row of log.csv and the TensorBoard scalars; on a terminal the live line.
  void write(const LogRow& row, const LiveLine& live);

  // The average generator's grid: samples/raw/NNNNNN.png at the training
  // size, and samples/NNNNNN.png with tiles scaled up to at least 64 pixels
  // under a caption (iteration, size, alpha, images seen), also in TensorBoard.
  void write_samples(std::vector<Image8> images, int cols, int64_t iteration, int size, double alpha,
                     uint64_t images_seen);

  // The live line's end (a newline) and log.csv closed.
  void close();

 private:
  void show_live_line(const LogRow& row, const LiveLine& live);

  std::string run_;
  std::vector<std::string> extra_names_, metric_names_;
  bool augment_ = false, show_progress_ = false;
  std::ofstream csv_;
  std::unique_ptr<EventWriter> events_;
  std::string last_swd_;  // the last SWD (or FID), kept on the live line
};

// loss.png from log.csv: D and G losses, the penalty, SWD and ADA's p when
// logged, each in its own panel over iterations (images seen beneath), the
// growth steps marked with the size they started. Its path.
std::string write_loss_plot(const std::string& run);

// training.gif from the sample grids, in iteration order ("" without grids).
std::string write_sample_animation(const std::string& run);

}  // namespace sg
