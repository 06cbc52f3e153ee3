#include "model/training/run_log.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/images/animation.hpp"
#include "common/images/chart.hpp"
#include "common/images/image_codec.hpp"
#include "common/images/image_grid.hpp"
#include "common/list_files.hpp"
#include "common/progress.hpp"
#include "model/core/drawing.hpp"

namespace sg {

namespace fs = std::filesystem;

std::vector<std::string> metric_names(const FeatureMetricOptions& o) {
  std::vector<std::string> names;
  if (o.fid) names.push_back("fid");
  if (o.kid) names.push_back("kid");
  if (o.pr) names.insert(names.end(), {"pr_precision", "pr_recall"});
  if (!o.features.empty()) names.push_back("fid_custom");
  return names;
}

std::vector<double> metric_values(const FeatureMetricOptions& o, const std::vector<FeatureMetricReport>& reports) {
  std::vector<double> values;
  for (const FeatureMetricReport& r : reports) {
    const bool custom = r.kind == FeatureKind::Custom;
    if (!custom && o.fid && std::isfinite(r.fid)) values.push_back(r.fid);
    if (!custom && o.kid && std::isfinite(r.kid)) values.push_back(r.kid);
    if (r.has_pr) values.insert(values.end(), {r.pr.precision, r.pr.recall});
    if (custom) values.push_back(r.fid);
  }
  return values;
}

RunLog::RunLog(const std::string& run, std::vector<std::string> extra_names, bool augment, bool show_progress,
               std::vector<std::string> metric_names)
    : run_(run), extra_names_(std::move(extra_names)), metric_names_(std::move(metric_names)), augment_(augment),
      show_progress_(show_progress) {
  const fs::path folder(run);
  const bool new_log = !fs::exists(folder / "log.csv");
  csv_.open(folder / "log.csv", std::ios::app);
  if (!csv_) throw OutputError(run, "cannot write log.csv");
  if (new_log) {
    csv_ << "iteration,images,size,alpha,lr,d_loss,g_loss,penalty,images_per_s,swd";
    for (const std::string& name : extra_names_) csv_ << ',' << name;
    if (augment_) csv_ << ",augment_p,augment_r_t";
    for (const std::string& name : metric_names_) csv_ << ',' << name;
    csv_ << '\n';
  }
  events_ = std::make_unique<EventWriter>((folder / "tensorboard").string());
}

void RunLog::write(const LogRow& row, const LiveLine& live) {
  const auto d = static_cast<float>(row.losses[0]), g = static_cast<float>(row.losses[1]),
             p = static_cast<float>(row.losses[2]);
  const int64_t it = row.iteration;
  csv_ << it << ',' << row.images_seen << ',' << row.size << ',' << row.alpha << ',' << row.lr << ',' << d << ',' << g
       << ',' << p << ',' << row.images_per_second << ',';
  if (row.swd) csv_ << row.swd->average;
  std::vector<float> extra;
  for (size_t i = 3; i < row.losses.size(); ++i) extra.push_back(static_cast<float>(row.losses[i]));
  for (float v : extra) csv_ << ',' << v;
  if (row.augment) csv_ << ',' << row.augment->p << ',' << row.augment->r_t;
  for (size_t i = 0; i < metric_names_.size(); ++i) {
    csv_ << ',';
    if (i < row.metrics.size()) csv_ << row.metrics[i];
  }
  csv_ << '\n';
  csv_.flush();
  events_->scalar("loss/discriminator", d, it);
  events_->scalar("loss/generator", g, it);
  events_->scalar("loss/penalty", p, it);
  for (size_t i = 0; i < extra.size() && i < extra_names_.size(); ++i)
    events_->scalar("loss/" + extra_names_[i], extra[i], it);
  if (row.augment) {
    events_->scalar("augment/p", static_cast<float>(row.augment->p), it);
    events_->scalar("augment/r_t", static_cast<float>(row.augment->r_t), it);
  }
  events_->scalar("schedule/alpha", static_cast<float>(row.alpha), it);
  events_->scalar("schedule/resolution", static_cast<float>(row.size), it);
  events_->scalar("schedule/lr", static_cast<float>(row.lr), it);
  events_->scalar("speed/images_per_s", static_cast<float>(row.images_per_second), it);
  if (row.swd) {
    events_->scalar("eval/swd", static_cast<float>(row.swd->average), it);
    for (size_t l = 0; l < row.swd->resolutions.size(); ++l)
      events_->scalar("eval/swd_" + std::to_string(row.swd->resolutions[l]), static_cast<float>(row.swd->per_level[l]), it);
    char text[32];
    std::snprintf(text, sizeof text, "  SWD %.2f", row.swd->average);
    last_swd_ = text;
  }
  for (size_t i = 0; i < row.metrics.size() && i < metric_names_.size(); ++i) {
    events_->scalar("eval/" + metric_names_[i], static_cast<float>(row.metrics[i]), it);
    if (metric_names_[i] == "fid") {
      char text[32];
      std::snprintf(text, sizeof text, "  FID %.2f", row.metrics[i]);
      last_swd_ = (row.swd ? last_swd_ : std::string()) + text;
    }
  }
  events_->flush();
  if (show_progress_) show_live_line(row, live);
}

void RunLog::show_live_line(const LogRow& row, const LiveLine& live) {
  const auto d = static_cast<float>(row.losses[0]), g = static_cast<float>(row.losses[1]),
             p = static_cast<float>(row.losses[2]);
  std::string penalties = live.penalty_label + std::to_string(p).substr(0, 6);
  for (size_t i = 3; i < row.losses.size() && i - 3 < extra_names_.size() && i < 5; ++i)
    penalties += "  " + extra_names_[i - 3] + " " + std::to_string(static_cast<float>(row.losses[i])).substr(0, 6);
  if (row.augment) {
    char ada[48];
    std::snprintf(ada, sizeof ada, "  p %.3f r_t %.2f", row.augment->p, row.augment->r_t);
    penalties += ada;
  }
  std::fprintf(stderr, "\r%dx%d alpha %.3f it %lld  %.1f img/s  G %.3f D %.3f%s%s  %s %s   ", row.size, row.size,
               row.alpha, static_cast<long long>(row.iteration), row.images_per_second, g, d, penalties.c_str(),
               last_swd_.c_str(), live.growing ? "next size in" : "done in", format_duration(live.eta_seconds).c_str());
  std::fflush(stderr);
}

void RunLog::write_samples(std::vector<Image8> images, int cols, int64_t iteration, int size, double alpha,
                           uint64_t images_seen) {
  char name[64];
  std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(iteration));
  const fs::path samples = fs::path(run_) / "samples";
  write_file_atomically((samples / "raw" / name).string(), encode_png(make_grid(images, cols), 6), "sample grid");
  char caption[128];
  std::snprintf(caption, sizeof caption, "iteration %lld   %dx%d   alpha %.3f   %s images",
                static_cast<long long>(iteration), size, size, alpha,
                short_number(static_cast<double>(images_seen)).c_str());
  const Image8 grid = add_caption(readable_grid(std::move(images), cols), caption);
  const std::string png = encode_png(grid, 6);
  write_file_atomically((samples / name).string(), png, "sample grid");
  events_->image("samples", png, grid.width, grid.height, grid.channels, iteration);
  events_->flush();
}

void RunLog::close() {
  if (show_progress_) std::fprintf(stderr, "\n");
  csv_.close();
}

std::string write_loss_plot(const std::string& run_folder) {
  const fs::path run(run_folder);
  std::ifstream csv(run / "log.csv");
  std::string line;
  std::getline(csv, line);
  std::map<std::string, size_t> column;
  {
    std::stringstream header(line);
    size_t i = 0;
    for (std::string name; std::getline(header, name, ',');) column[name] = i++;
  }
  std::map<std::string, std::vector<double>> values;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    if (cells.size() < 8) continue;
    for (const auto& [name, i] : column)
      values[name].push_back(i < cells.size() && !cells[i].empty() ? std::strtod(cells[i].c_str(), nullptr) : nan);
  }
  Chart chart;
  chart.title = "sg_train " + run.filename().string();
  chart.secondary_label = "images";
  chart.secondary_x = values["iteration"];
  chart.secondary_values = values["images"];
  const std::vector<double>& x = values["iteration"];
  auto curve = [&](const std::string& label, const std::string& name, uint8_t r, uint8_t g, uint8_t b, bool points = false) {
    return ChartCurve{label, x, values[name], r, g, b, points};
  };
  chart.panels.push_back({"loss", {curve("D loss", "d_loss", 200, 30, 30), curve("G loss", "g_loss", 30, 60, 200)}});
  chart.panels.push_back({"penalty", {curve("penalty (GP / R1)", "penalty", 20, 140, 60)}});
  auto logged = [&](const std::string& name) {
    const auto& v = values[name];
    return std::any_of(v.begin(), v.end(), [](double d) { return std::isfinite(d); });
  };
  if (logged("swd")) chart.panels.push_back({"SWD x1e3", {curve("SWD (EMA)", "swd", 120, 40, 160, true)}});
  if (logged("fid") || logged("fid_custom"))
    chart.panels.push_back({"FID", {curve("FID (Inception)", "fid", 200, 90, 20, true),
                                    curve("FID (custom features)", "fid_custom", 20, 120, 160, true)}});
  if (logged("kid")) chart.panels.push_back({"KID", {curve("KID", "kid", 150, 60, 120, true)}});
  if (logged("pr_precision"))
    chart.panels.push_back({"precision / recall (VGG16)", {curve("precision", "pr_precision", 30, 130, 60, true),
                                                           curve("recall", "pr_recall", 200, 40, 40, true)}});
  if (logged("augment_p"))
    chart.panels.push_back({"augmentation", {curve("ADA p", "augment_p", 220, 120, 0), curve("r_t", "augment_r_t", 110, 110, 110)}});
  const std::vector<double>& sizes = values["size"];
  for (size_t i = 1; i < sizes.size() && i < x.size(); ++i)
    if (sizes[i] != sizes[i - 1]) {
      const int s = static_cast<int>(sizes[i]);
      chart.markers.push_back({x[i], std::to_string(s) + "x" + std::to_string(s)});
    }
  const std::string path = (run / "loss.png").string();
  write_png(path, render_chart(chart));
  return path;
}

std::string write_sample_animation(const std::string& run_folder) {
  const fs::path run(run_folder);
  const std::string samples = (run / "samples").string();
  std::vector<std::string> files;
  if (const auto error = list_files(samples, Depth::top_level, files, {".png"}))
    throw OutputError(samples, "cannot list the sample grids: " + error.message());
  if (files.empty()) return "";
  // At most 200 frames: every k-th grid, always the last.
  const size_t stride = (files.size() + 199) / 200;
  std::vector<Image8> frames;
  for (size_t i = 0; i < files.size(); ++i) {
    if (i % stride != 0 && i + 1 != files.size()) continue;
    std::ifstream in(files[i], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    frames.push_back(decode_png8(bytes, files[i]));
  }
  const std::string path = (run / "training.gif").string();
  write_gif(path, frames);
  return path;
}

}  // namespace sg
