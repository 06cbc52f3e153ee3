// Nothing is lost when a program is killed: sg_prep and sg_train run as the
// user runs them (the built programs), SIGKILLed at spread-out moments, and
// what is left at their output paths is checked: a complete LMDB or none (an
// existing one survives), a latest.ckpt that loads and resumes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "common/list_files.hpp"
#include "common/remove_tree.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "model/stylegan/checkpoint.hpp"
#include "test_lmdb.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

using namespace stylegan;

namespace fs = std::filesystem;
using test::TempDir;

std::string program(const std::string& name) { return std::string(SG_BIN_DIR) + "/" + name; }

pid_t spawn(const std::vector<std::string>& argv) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Quiet children: their output is not what is tested.
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Runs to the end; the exit status.
int run(const std::vector<std::string>& argv) {
  const pid_t pid = spawn(argv);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Starts the program and SIGKILLs it after `delay` (unless it ended first).
// True when it was killed.
bool run_and_kill(const std::vector<std::string>& argv, std::chrono::microseconds delay) {
  const pid_t pid = spawn(argv);
  const auto deadline = std::chrono::steady_clock::now() + delay;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status);
}

double seconds_of(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run(argv), 0);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Every record of a finished LMDB, or a failure when it is not one.
std::vector<std::string> records_of(const std::string& path) {
  LmdbReader reader(path);
  EXPECT_TRUE(reader.meta().has_value()) << path;
  std::vector<std::string> out;
  for (int size : reader.sizes())
    for (uint64_t i = 0; i < reader.length(TRAIN); ++i) out.push_back(reader.record(TRAIN, size, i));
  return out;
}

TEST(Interrupt, KilledSgPrepLeavesACompleteLmdbOrNoneAndKeepsTheOldOne) {
  const std::string colin = "/usr/share/mricron/templates/ch2bet.nii.gz";
  if (!fs::exists(colin)) GTEST_SKIP() << "mricron-data not installed";
  if (!fs::exists(program("sg_prep"))) GTEST_SKIP() << "sg_prep not built (SG_WITH_PREP off)";
  TempDir dir;
  auto prep = [&](const std::string& out, bool force) {
    std::vector<std::string> argv{program("sg_prep"), "--config", test::source_path("configs/demo.textproto"),
                                  "--input", colin, "--out", out, "--encoding", "png", "--quiet"};
    if (force) argv.push_back("--force");
    return argv;
  };
  const double full = seconds_of(prep(dir / "reference.lmdb", false));
  const auto expected = records_of(dir / "reference.lmdb");
  ASSERT_FALSE(expected.empty());

  std::mt19937 rng(7);
  std::uniform_real_distribution<double> moment(0.0, 1.1);
  int killed = 0;
  // A fresh output, and one replacing an existing output (--force).
  for (bool existing : {false, true}) {
    const std::string out = dir / (existing ? "replaced.lmdb" : "fresh.lmdb");
    if (existing) {
      ASSERT_EQ(run(prep(out, false)), 0);
    }
    for (int attempt = 0; attempt < 6; ++attempt) {
      const auto delay = std::chrono::microseconds(static_cast<int64_t>(moment(rng) * full * 1e6));
      killed += run_and_kill(prep(out, existing), delay);
      if (fs::exists(out)) {
        EXPECT_EQ(records_of(out), expected) << (existing ? "replaced" : "fresh") << " after " << delay.count() << " us";
      } else {
        EXPECT_FALSE(existing) << "the existing output was lost, killed after " << delay.count() << " us";
      }
      if (!existing && fs::exists(out)) remove_tree(out);
    }
  }
  EXPECT_GE(killed, 6) << "too few runs were killed before they finished to test anything";
  // The next run clears what killed runs left behind (their temporary folders).
  ASSERT_EQ(run(prep(dir / "replaced.lmdb", true)), 0);
  // (list_files lists files: each temporary LMDB folder holds data.mdb.)
  std::vector<std::string> files, left;
  list_files(dir.path().string(), Depth::recursive, files);
  for (const auto& f : files)
    if (f.find("/.replaced.lmdb.tmp-") != std::string::npos) left.push_back(f);
  EXPECT_TRUE(left.empty()) << left.front();
}

void write_tiny_lmdb(const std::string& path, int n = 16) { test::write_synthetic_lmdb(path, n, {8}); }

TEST(Interrupt, KilledSgTrainLeavesALatestCheckpointThatResumes) {
  TempDir dir;
  write_tiny_lmdb(dir / "d.lmdb");
  auto train = [&](const std::string& out, int iterations, const std::string& resume = "") {
    std::vector<std::string> argv{program("sg_train"), dir / "d.lmdb", "--out", out, "--channels", "8",
                                  "--batch", "4", "--max_iter", std::to_string(iterations), "--checkpoint-every", "3",
                                  "--sample-every", "0", "--device", "cpu", "--threads", "1", "--quiet"};
    if (!resume.empty()) argv.insert(argv.end(), {"--ckpt", resume});
    return argv;
  };
  const double full = seconds_of(train(dir / "timing", 15));
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> moment(0.3, 1.0);
  int killed = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::string out = dir / ("run" + std::to_string(attempt));
    const auto delay = std::chrono::microseconds(static_cast<int64_t>(moment(rng) * full * 1e6));
    killed += run_and_kill(train(out, 15), delay);
    const std::string latest = out + "/checkpoints/latest.ckpt";
    if (!fs::exists(latest)) continue;  // killed before its first save
    const CheckpointMeta meta = read_checkpoint_meta(latest);  // throws on a torn file
    EXPECT_EQ(meta.model.max_channels, 8);
    EXPECT_EQ(run(train(out, 18, latest)), 0) << "resume after a kill at " << delay.count() << " us";
    EXPECT_TRUE(fs::exists(out + "/checkpoints/000018.ckpt"));
  }
  EXPECT_GE(killed, 3);
}

}  // namespace
}  // namespace sg
