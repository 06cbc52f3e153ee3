// The programs as a user runs them, with bad arguments. Every numeric flag
// a program's --help lists is set to 0, -1, nan, inf and 1e308, one at a
// time, over tiny valid data: the run ends taking the value (exit 0) or
// refusing it (exit 1 or 2) in at most two lines that name the flag; never
// a signal, never a hang. Beside it, the cases the flag checks were built
// for: sizes that cannot make a schedule, LibTorch's backtraces, a diverged
// checkpoint drawn as black pictures, and the words of the messages.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "model/stylegan/checkpoint.hpp"
#include "model/stylegan/train_step.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

using namespace stylegan;

namespace fs = std::filesystem;
using test::ProgramRun;
using test::TempDir;

// The data every run here reads: an LMDB with 8x8 and 16x16 records, a
// folder of scans with a config for sg_prep, and a checkpoint trained at
// 16x16 for two iterations.
class Programs : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    lmdb_ = *dir_ / "data.lmdb";
    {
      LmdbWriter writer(lmdb_, {});
      std::vector<LmdbRecord> records;
      const uint64_t n = 12;
      for (uint64_t i = 0; i < n; ++i)
        for (int size : {8, 16})
          records.push_back({TRAIN, record_key(size, i), encode_record(test::synthetic_slice(size, size, static_cast<int>(i)), RAW, 1, 1)});
      writer.write(records);
      writer.finish(describe_dataset({8, 16}, 1, RAW, {n, 0, 0}));
    }
    for (int i = 0; i < 3; ++i)
      test::write_file(*dir_ / ("scans/slice_" + std::to_string(i) + ".png"), test::png_bytes(test::synthetic_slice(32, 32, i)));
    config_ = *dir_ / "tiny.textproto";
    test::write_file(config_, "name: \"tiny\"\npyramid { resolutions: [8, 16] }\n");
    const ProgramRun trained = test::run_program({test::program_path("sg_train"), lmdb_, "--init_size", "16", "--max_size",
                                                  "16", "--batch", "4", "--channels", "8", "--max_iter", "2", "--threads",
                                                  "1", "--quiet", "--out", *dir_ / "trained"});
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    checkpoint_ = *dir_ / "trained/checkpoints/latest.ckpt";
  }

  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // A fresh output path for one run.
  static std::string fresh_out() { return *dir_ / ("out" + std::to_string(outputs_++)); }

  static TempDir* dir_;
  static std::string lmdb_, config_, checkpoint_;
  static int outputs_;
};

TempDir* Programs::dir_ = nullptr;
std::string Programs::lmdb_, Programs::config_, Programs::checkpoint_;
int Programs::outputs_ = 0;

// A numeric flag as --help lists it: its names ("--max_iter,--max-iter")
// and its description.
struct NumericFlag {
  std::vector<std::string> names;
  std::string help;
};

// The flags whose type --help shows as INT, UINT or FLOAT, read from the
// program itself so that a flag added later is covered.
std::vector<NumericFlag> numeric_flags(const std::string& program) {
  const ProgramRun help = test::run_program({test::program_path(program), "--help"}, 60);
  EXPECT_EQ(help.exit_code, 0) << program << ": " << help.err;
  std::vector<NumericFlag> flags;
  const std::regex option(R"(^\s+((?:-\w,)?--[\w-]+(?:,--[\w-]+)*)\s+(INT|UINT|FLOAT)\b(.*)$)");
  std::istringstream lines(help.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, option)) {
      NumericFlag flag;
      std::stringstream names(m[1].str());
      for (std::string name; std::getline(names, name, ',');)
        if (name.rfind("--", 0) == 0) flag.names.push_back(name);
      flag.help = m[3].str();
      flags.push_back(flag);
    } else if (!flags.empty() && line.rfind("                ", 0) == 0) {
      flags.back().help += line;  // a description continued on the next line
    }
  }
  return flags;
}

// How a program is run for the sweep: valid arguments ("{out}" stands for a
// fresh output path), and other valid arguments for the flags whose help
// says they need them ("StyleGAN2:", "with --augment:").
struct ProgramCase {
  std::string program;
  std::vector<std::string> base;
  std::vector<std::pair<std::string, std::vector<std::string>>> contexts;
};

std::vector<std::string> without_flag(const std::vector<std::string>& args, const NumericFlag& flag) {
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    if (std::find(flag.names.begin(), flag.names.end(), args[i]) != flag.names.end()) {
      ++i;  // and its value
      continue;
    }
    kept.push_back(args[i]);
  }
  return kept;
}

size_t lines_of(const std::string& text) {
  size_t lines = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines += !line.empty();
  return lines;
}

void sweep(const ProgramCase& c, const std::function<std::string()>& fresh_out) {
  const std::vector<NumericFlag> flags = numeric_flags(c.program);
  ASSERT_FALSE(flags.empty()) << c.program;
  for (const NumericFlag& flag : flags) {
    std::vector<std::string> args = c.base;
    // A description that starts with the marker (after --help's column of
    // spaces): "StyleGAN2: the resolution", not "...; StyleGAN2: 800,000)".
    for (const auto& [marker, context] : c.contexts)
      if (flag.help.find("  " + marker) != std::string::npos) args = context;
    args = without_flag(args, flag);
    for (const char* value : {"0", "-1", "nan", "inf", "1e308"}) {
      std::vector<std::string> argv{test::program_path(c.program)};
      for (const std::string& a : args) argv.push_back(a == "{out}" ? fresh_out() : a);
      argv.push_back(flag.names[0]);
      argv.push_back(value);
      const ProgramRun run = test::run_program(argv, 240);
      const std::string what = c.program + " " + flag.names[0] + " " + value;
      ASSERT_FALSE(run.timed_out) << what;
      ASSERT_EQ(run.signal, 0) << what << ": ended by signal " << run.signal << "\n" << run.err;
      if (run.exit_code == 0) continue;  // a value the flag takes
      EXPECT_TRUE(run.exit_code == 1 || run.exit_code == 2) << what << ": exit " << run.exit_code << "\n" << run.err;
      EXPECT_LE(lines_of(run.err), 2u) << what << ":\n" << run.err;
      EXPECT_NE(run.err.find(flag.names[0]), std::string::npos) << what << ":\n" << run.err;
    }
  }
}

TEST_F(Programs, SgTrainNumericFlags) {
  const std::vector<std::string> tiny = {"--batch", "4", "--channels", "8", "--max_iter", "2", "--threads", "1", "--quiet",
                                         "--out", "{out}"};
  std::vector<std::string> v1 = {lmdb_, "--init_size", "16", "--max_size", "16", "--phase", "4"};
  v1.insert(v1.end(), tiny.begin(), tiny.end());
  std::vector<std::string> v2 = {lmdb_, "--arch", "stylegan2", "--size", "16"};
  v2.insert(v2.end(), tiny.begin(), tiny.end());
  std::vector<std::string> ada = v1;
  ada.push_back("--augment");
  sweep({"sg_train", v1, {{"StyleGAN2:", v2}, {"with --augment:", ada}}}, fresh_out);
}

TEST_F(Programs, SgTestNumericFlags) {
  const std::vector<std::string> grids = {checkpoint_, "--size", "16", "--n_row", "1", "--n_col", "2", "--threads", "1",
                                          "--out", "{out}"};
  std::vector<std::string> export_n = grids;
  for (const char* a : {"--n", "2"}) export_n.push_back(a);
  sweep({"sg_test", grids, {{"with --n:", export_n}}}, fresh_out);
}

TEST_F(Programs, SgEvalNumericFlags) {
  sweep({"sg_eval", {checkpoint_, lmdb_, "--size", "16", "--n", "4", "--threads", "1", "--quiet", "--json", "{out}"}, {}},
        fresh_out);
}

TEST_F(Programs, SgPrepInspectModelAugmentNumericFlags) {
  sweep({"sg_prep", {"--config", config_, "--input", *dir_ / "scans", "--quiet", "--out", "{out}"}, {}}, fresh_out);
  sweep({"sg_inspect", {lmdb_, "--sheet", "{out}"}, {}}, fresh_out);
  sweep({"sg_model", {"--channels", "16"}, {{"StyleGAN2:", {"--arch", "stylegan2", "--channels", "16"}}}}, fresh_out);
  sweep({"sg_augment", {lmdb_, "--count", "2", "--out", "{out}"}, {}}, fresh_out);
  sweep({"sg_project", {checkpoint_, "--target", lmdb_, "--limit", "1", "--steps", "2", "--threads", "1", "--out", "{out}"}, {}},
        fresh_out);
}

// The benchmarks run for minutes once a value is taken, so only values no
// numeric flag of theirs takes are tried (every range is finite): each is
// refused at parse time, exit 2, one line naming the flag.
TEST_F(Programs, BenchmarkNumericFlagsRefuseNanAndHugeValues) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> benches = {
      {"bench_train", {lmdb_}}, {"bench_model", {}}, {"bench_quality", {lmdb_}}, {"bench_eval", {}},
      {"bench_loader", {lmdb_}}, {"bench_prep", {}}};
  for (const auto& [bench, base] : benches) {
    const std::vector<NumericFlag> flags = numeric_flags(bench);
    EXPECT_FALSE(flags.empty()) << bench;
    for (const NumericFlag& flag : flags)
      for (const char* value : {"nan", "1e308"}) {  // not finite; out of every range
        std::vector<std::string> argv{test::program_path(bench)};
        argv.insert(argv.end(), base.begin(), base.end());
        argv.push_back(flag.names[0]);
        argv.push_back(value);
        const ProgramRun run = test::run_program(argv, 60);
        const std::string what = bench + " " + flag.names[0] + " " + value;
        EXPECT_EQ(run.exit_code, 2) << what << "\n" << run.err;
        EXPECT_EQ(lines_of(run.err), 1u) << what << ":\n" << run.err;
        EXPECT_NE(run.err.find(flag.names[0]), std::string::npos) << what << ":\n" << run.err;
      }
  }
}

ProgramRun train(const std::vector<std::string>& flags) {
  std::vector<std::string> argv{test::program_path("sg_train")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return test::run_program(argv, 240);
}

// Was a heap corruption (malloc(): unaligned tcache chunk detected, SIGABRT):
// the first stage's step indexed blocks a 16x16 model does not have.
TEST_F(Programs, InitSizeBeyondTheLastSizeIsRefused) {
  ProgramRun r = train({lmdb_, "--init_size", "64", "--max_size", "16", "--channels", "16", "--out", fresh_out()});
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "sg_train: error: --init_size 64 is larger than --max_size 16\n");
  // The last size from the LMDB (16): said at once, before any training.
  r = train({lmdb_, "--init_size", "64", "--channels", "16", "--out", fresh_out()});
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sg_train: error: --init_size 64 is larger than the last size, 16 (the LMDB's largest; --max_size)\n");
  // A size between them that the data does not hold.
  r = train({lmdb_, "--init_size", "32", "--max_size", "32", "--channels", "16", "--out", fresh_out()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds no 32x32 records"), std::string::npos) << r.err;
  EXPECT_EQ(lines_of(r.err), 1u) << r.err;
}

TEST_F(Programs, RangeMessagesReadAsAPersonWouldSayThem) {
  ProgramRun r = train({lmdb_, "--batch", "0", "--out", fresh_out()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "sg_train: error: --batch: must be at least 1 (got 0)\n");
  // Was "Invalid learning rate: -1" and 13 lines of LibTorch frames.
  r = train({lmdb_, "--lr", "-1", "--out", fresh_out()});
  EXPECT_EQ(r.err, "sg_train: error: --lr: must be above 0 (got -1)\n");
  r = train({lmdb_, "--lr", "nan", "--out", fresh_out()});
  EXPECT_EQ(r.err, "sg_train: error: --lr: must be a finite number (got nan)\n");
  ProgramRun t = test::run_program({test::program_path("sg_test"), checkpoint_, "--size", "16", "--n_row", "0"});
  EXPECT_EQ(t.err, "sg_test: error: --n_row: must be at least 1 (got 0)\n");
  t = test::run_program({test::program_path("sg_test"), checkpoint_, "--size", "16", "--n", "-5"});
  EXPECT_EQ(t.err, "sg_test: error: --n: must be at least 1 (got -5)\n");
  t = test::run_program({test::program_path("sg_prep"), "--config", config_, "--out", fresh_out(), "--threads", "-3"});
  EXPECT_EQ(t.err, "sg_prep: error: --threads: must be at least 0 (got -3)\n");
  t = test::run_program({test::program_path("sg_test"), checkpoint_, "--size", "16", "--interpolate", "1", "--out", fresh_out()});
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_EQ(t.err, "sg_test: error: --interpolate 1: a walk needs at least 2 latents (0: none)\n");
}

TEST_F(Programs, HelpSaysWhatMaxIterZeroMeans) {
  const ProgramRun help = test::run_program({test::program_path("sg_train"), "--help"});
  EXPECT_NE(help.out.find("0, the default: when the schedule ends"), std::string::npos) << help.out;
}

// A checkpoint whose generators hold NaN, as a diverged run leaves it.
std::string diverged_copy(const std::string& checkpoint, const std::string& path) {
  const CheckpointMeta meta = read_checkpoint_meta(checkpoint);
  StepModels models = make_step_models(meta.model, 0.001, torch::kCPU);
  TrainPosition position;
  std::mt19937_64 rng;
  load_checkpoint(checkpoint, models, position, rng);
  torch::NoGradGuard no_grad;
  for (torch::nn::Module* module : {static_cast<torch::nn::Module*>(models.generator.get()),
                                    static_cast<torch::nn::Module*>(models.ema.get())})
    for (torch::Tensor& p : module->parameters()) p.fill_(std::numeric_limits<float>::quiet_NaN());
  save_checkpoint({path}, models, position, rng, meta);
  return path;
}

// Was all-black grids and exit 0 (sg_test --truncation nan, or a diverged
// checkpoint): refused in one line naming the flag or the checkpoint, and
// nothing written.
TEST_F(Programs, NonFiniteOutputIsNamedNeverDrawnBlack) {
  const std::string out = fresh_out();
  ProgramRun r = test::run_program({test::program_path("sg_test"), checkpoint_, "--size", "16", "--truncation", "nan",
                                    "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "sg_test: error: --truncation: must be a finite number (got nan)\n");
  EXPECT_FALSE(fs::exists(out));

  const std::string diverged = diverged_copy(checkpoint_, *dir_ / "diverged.ckpt");
  const std::string reason = ": the generator's output is not finite (NaN or infinity): a diverged model";
  r = test::run_program({test::program_path("sg_test"), diverged, "--size", "16", "--out", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sg_test: error: " + diverged + reason + "; no pictures written\n");
  EXPECT_FALSE(fs::exists(out + "/sample.png"));

  r = test::run_program({test::program_path("sg_test"), diverged, "--size", "16", "--n", "3", "--out", out + "-n"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sg_test: error: " + diverged + reason + "; its non-finite images were not written\n");
  EXPECT_FALSE(fs::exists(out + "-n/000000.png"));
  r = test::run_program({test::program_path("sg_test"), diverged, "--size", "16", "--n", "3", "--format", "lmdb", "--out",
                         out + ".lmdb"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(out + ".lmdb"));

  r = test::run_program({test::program_path("sg_eval"), diverged, lmdb_, "--size", "16", "--n", "4", "--quiet"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sg_eval: error: " + diverged + reason + "; nothing to measure\n");

  // Training from it: stopped at the first sample grid, not drawn.
  r = train({lmdb_, "--ckpt", diverged, "--init_size", "16", "--max_size", "16", "--batch", "4", "--channels", "8",
             "--max_iter", "3", "--sample-every", "1", "--threads", "1", "--quiet", "--out", out + "-run"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(lines_of(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("training diverged by iteration 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resumed from " + diverged), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "-run/samples/000003.png"));
}

}  // namespace
}  // namespace sg
