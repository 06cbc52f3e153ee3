// bench_quality: how good a short run's generators are. Trains at a fixed
// small budget (by default issue #19's setup: the demo LMDB, width 64,
// 8x8 -> 32x32, phase 6,400 images, batch 16, lr 0.001, --mixing, WGAN-GP)
// for each seed, and prints the SWD (sg_eval's, x10^3) of the EMA generator
// (g_running) and of the raw generator at the end of every stage, beside the
// real-vs-real baseline (at 8x8 on one 7x7-patch level, sg_eval's pyramid
// starting at 16x16). Not a test: a few minutes per seed.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "common/cli.hpp"
#include "common/errors.hpp"
#include "common/list_files.hpp"
#include "common/remove_tree.hpp"
#include "model/core/torch_file.hpp"
#include "model/devices/device.hpp"
#include "model/evaluation/evaluate.hpp"
#include "model/training/gan_factory.hpp"
#include "model/training/trainer.hpp"

namespace fs = std::filesystem;

namespace {

struct StageScore {
  int size = 0;
  double ema = 0, raw = 0, baseline = 0;
  // The raw generator over the stage's last iterations: it swings from
  // step to step, so its value at the stage end alone is one draw.
  double raw_mean = 0, raw_low = 0, raw_high = 0;
};

constexpr int kCheckpointEvery = 25;
constexpr int kRawSamples = 5;  // the stage end and the 4 checkpoints before it

int64_t iteration_of(const std::string& checkpoint) {
  const sg::TorchFile file = sg::read_torch_file(checkpoint);
  const sg::PyValue* it = file.root->find("iteration");
  if (!it || !it->is(sg::PyValue::Kind::Int)) throw sg::InputError(checkpoint, "holds no iteration");
  return it->integer;
}

double swd_of(const std::string& checkpoint, const std::string& lmdb, int size, bool raw, int64_t n, double* baseline) {
  sg::EvalOptions e;
  e.fake = checkpoint;
  e.real = lmdb;
  e.size = size;
  e.n = n;
  e.raw_generator = raw;
  e.device = "cpu";
  // sg_eval's pyramid stops at 16x16; an 8x8 stage is measured on its one level.
  e.swd.min_resolution = std::min(16, size);
  const sg::EvalReport report = sg::evaluate(e, sg::open_checkpoint);
  if (baseline) *baseline = report.baseline.average;
  return report.swd.average;
}

namespace cli = sg::cli;

struct BenchFlags {
  std::string lmdb = "runs/demo.lmdb", out, ema = "per-block";
  std::vector<uint64_t> seeds{1, 2, 3};
  int64_t n = 1000;
  int threads = 0;
  bool keep = false;
};

void add_flags(CLI::App& app, BenchFlags& f, sg::TrainOptions& o) {
  app.add_option("lmdb", f.lmdb,
                 "dataset LMDB (default runs/demo.lmdb: build/bin/sg_prep --config configs/demo.textproto "
                 "--out runs/demo.lmdb)");
  app.add_option("--seeds", f.seeds, "training seeds (default 1 2 3)");
  cli::add_number(app, "--channels", o.model.max_channels, "width cap", cli::between(1, 512));
  cli::add_choice(app, "--init_size,--init-size", o.schedule.init_size, "first resolution", {8, 16, 32, 64, 128, 256});
  cli::add_choice(app, "--max_size,--max-size", o.schedule.max_size, "last resolution", {8, 16, 32, 64, 128, 256});
  cli::add_number(app, "--phase", o.schedule.phase, "images of fade-in, then as many at alpha 1", cli::between(1, 1e9));
  cli::add_number(app, "--batch", o.schedule.batch, "batch size", cli::between(1, 4096));
  cli::add_number(app, "--lr", o.schedule.lr, "learning rate", cli::Bounds{0, 1, true, false});
  app.add_option("--ema", f.ema, "per-block or reference")->check(CLI::IsMember({"per-block", "reference"}));
  cli::add_number(app, "--ema_rampup,--ema-rampup", o.ema.rampup, "per-block ramp-up (half-life / images trained)",
                  cli::between(0, 1000));
  cli::add_number(app, "--n", f.n, "generated images per SWD (sg_eval --n)", cli::between(2, 10000000));
  app.add_option("--out", f.out, "where the runs go (default: a temporary folder, removed unless --keep)");
  app.add_flag("--keep", f.keep, "keep the runs");
  cli::add_number(app, "--threads", f.threads, "CPU threads (0, the default: all cores)", cli::between(0, 1024));
}

// The checkpoints that end each stage: train_step-N.ckpt holds the state
// when stage N - 1 ended; the final checkpoint ends the last stage.
std::vector<std::pair<int, std::string>> stage_ends(const sg::TrainOptions& o, const sg::TrainResult& r) {
  std::vector<std::pair<int, std::string>> ends;
  for (int size = o.schedule.init_size; size < o.schedule.max_size; size *= 2)
    ends.emplace_back(size, (fs::path(o.out) / "checkpoints" /
                             ("train_step-" + std::to_string(sg::step_for_size(size) + 1) + ".ckpt")).string());
  ends.emplace_back(o.schedule.max_size, r.last_checkpoint);
  return ends;
}

// The EMA and raw SWD at a stage end, with the raw generator's spread over
// the stage's last checkpoints.
StageScore score_stage(const sg::TrainOptions& o, const BenchFlags& f, int size, const std::string& checkpoint) {
  StageScore score;
  score.size = size;
  score.ema = swd_of(checkpoint, f.lmdb, size, false, f.n, &score.baseline);
  score.raw = swd_of(checkpoint, f.lmdb, size, true, f.n, nullptr);
  const int64_t end = iteration_of(checkpoint);
  std::vector<double> raws{score.raw};
  for (int64_t it = end / kCheckpointEvery * kCheckpointEvery; raws.size() < kRawSamples && it > 0;
       it -= kCheckpointEvery) {
    char name[32];
    std::snprintf(name, sizeof name, "%06lld.ckpt", static_cast<long long>(it));
    const fs::path earlier = fs::path(o.out) / "checkpoints" / name;
    if (it == end || !fs::exists(earlier)) continue;
    raws.push_back(swd_of(earlier.string(), f.lmdb, size, true, f.n, nullptr));
  }
  score.raw_low = *std::min_element(raws.begin(), raws.end());
  score.raw_high = *std::max_element(raws.begin(), raws.end());
  for (double r : raws) score.raw_mean += r / static_cast<double>(raws.size());
  std::printf("  end of %dx%d (iteration %lld): EMA %6.1f   raw %6.1f (its last %zu checkpoints: mean %6.1f, %.1f-%.1f)"
              "   real halves %5.1f\n",
              size, size, static_cast<long long>(end), score.ema, score.raw, raws.size(), score.raw_mean, score.raw_low,
              score.raw_high, score.baseline);
  std::fflush(stdout);
  return score;
}

// Stage checkpoints every few iterations were only for the spread.
void remove_spread_checkpoints(const sg::TrainOptions& o, const sg::TrainResult& r) {
  std::vector<std::string> checkpoints;
  sg::list_files((fs::path(o.out) / "checkpoints").string(), sg::Depth::top_level, checkpoints, {".ckpt"});
  for (const std::string& path : checkpoints) {
    const std::string name = fs::path(path).filename().string();
    if (name.rfind("train_step-", 0) != 0 && name != "latest.ckpt" && path != r.last_checkpoint) fs::remove(path);
  }
}

void print_table(const std::map<int, std::vector<StageScore>>& by_size) {
  std::printf("\nstage end | EMA, seed by seed | raw at the stage end | raw, mean of its last %d checkpoints | real halves\n",
              kRawSamples);
  for (const auto& [size, scores] : by_size) {
    std::string ema_list, raw_list, mean_list;
    char cell[32];
    for (const auto& s : scores) {
      const char* sep = ema_list.empty() ? "" : " / ";
      std::snprintf(cell, sizeof cell, "%s%.0f", sep, s.ema);
      ema_list += cell;
      std::snprintf(cell, sizeof cell, "%s%.0f", sep, s.raw);
      raw_list += cell;
      std::snprintf(cell, sizeof cell, "%s%.0f", sep, s.raw_mean);
      mean_list += cell;
    }
    std::printf("%dx%d | %s | %s | %s | %.0f\n", size, size, ema_list.c_str(), raw_list.c_str(), mean_list.c_str(),
                scores.front().baseline);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_quality: SWD of the EMA and raw generators at the end of each stage of a short run"};
  BenchFlags f;
  sg::TrainOptions o;
  o.model.max_channels = 64;
  o.schedule.init_size = 8;
  o.schedule.max_size = 32;
  o.schedule.phase = 6400;
  o.schedule.batch = 16;
  o.schedule.lr = 0.001;
  o.mixing = true;
  add_flags(app, f, o);
  if (int code = cli::parse_flags(app, argc, argv, "bench_quality"); code >= 0) return code;
  if (f.ema == "reference") o.ema.rampup = 0;
  const bool temporary = f.out.empty();
  if (temporary) f.out = (fs::temp_directory_path() / ("bench_quality_" + std::to_string(::getpid()))).string();
  try {
    const int used = sg::configure_cpu_runtime(f.threads);
    o.lmdb = f.lmdb;
    o.device = "cpu";
    o.checkpoint_every = kCheckpointEvery;
    o.sample_every = 0;
    o.log_every = 100;
    std::printf("bench_quality: %s, width %d, %d -> %d, phase %llu, batch %d, lr %g, mixing, WGAN-GP, EMA %s "
                "(rampup %g), %d threads; SWD x1e3 of %lld generated images\n",
                f.lmdb.c_str(), o.model.max_channels, o.schedule.init_size, o.schedule.max_size,
                static_cast<unsigned long long>(o.schedule.phase), o.schedule.batch, o.schedule.lr, f.ema.c_str(),
                o.ema.rampup, used, static_cast<long long>(f.n));
    std::map<int, std::vector<StageScore>> by_size;
    for (uint64_t seed : f.seeds) {
      o.seed = seed;
      o.out = (fs::path(f.out) / ("seed-" + std::to_string(seed))).string();
      sg::remove_tree(o.out);
      const auto start = std::chrono::steady_clock::now();
      const sg::TrainResult r = sg::train(o);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("seed %llu: %lld iterations, %.0f s of training\n", static_cast<unsigned long long>(seed),
                  static_cast<long long>(r.iterations), seconds);
      for (const auto& [size, checkpoint] : stage_ends(o, r)) by_size[size].push_back(score_stage(o, f, size, checkpoint));
      remove_spread_checkpoints(o, r);
    }
    print_table(by_size);
    if (temporary && !f.keep) sg::remove_tree(f.out);
    return 0;
  } catch (const std::exception& e) {
    cli::print_error("bench_quality", e);
    return 1;
  }
}
