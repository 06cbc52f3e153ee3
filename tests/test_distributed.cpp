// Training across processes: sg_train launched as torchrun launches it (the
// built program, one process per rank, RANK / WORLD_SIZE / LOCAL_RANK /
// MASTER_ADDR / MASTER_PORT set, Gloo over loopback), against an oracle that
// runs the same ranks in one process and averages their gradients by plain
// addition; shards of the batch stream; the launch environment.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "common/atomic_file.hpp"
#include "common/list_files.hpp"
#include "datasets/batch_stream.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/lmdb_writer.hpp"
#include "datasets/record_codec.hpp"
#include "model/core/torch_file.hpp"
#include "model/devices/device.hpp"
#include "model/distributed/collectives.hpp"
#include "model/distributed/gradient_sync.hpp"
#include "model/distributed/launch.hpp"
#include "model/stylegan2/checkpoint.hpp"
#include "model/training/trainer.hpp"
#include "test_util.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::string program(const std::string& name) { return std::string(SG_BIN_DIR) + "/" + name; }

// A dataset LMDB of `n` synthetic slices at 8x8 and 16x16; `labelled`:
// slice i of class i mod 3 ("a", "b", "c").
void write_dataset(const std::string& path, int n = 24, bool labelled = false) {
  LmdbWriter writer(path, {});
  std::vector<LmdbRecord> records;
  for (int size : {8, 16})
    for (int i = 0; i < n; ++i)
      records.push_back({TRAIN, record_key(size, static_cast<uint64_t>(i)),
                         encode_record(test::synthetic_slice(size, size, i), RAW, 1, 1)});
  if (labelled)
    for (int i = 0; i < n; ++i)
      records.push_back({TRAIN, label_key(static_cast<uint64_t>(i)), std::to_string(i % 3), RecordDatabase::Labels});
  writer.write(records);
  DatasetMeta meta = describe_dataset({8, 16}, 1, RAW, {static_cast<uint64_t>(n), 0, 0});
  if (labelled) {
    for (const char* name : {"a", "b", "c"}) meta.add_class_names(name);
    for (SplitCount& count : *meta.mutable_counts())
      for (int c = 0; c < 3; ++c)
        count.add_class_records(count.split() == TRAIN ? static_cast<uint64_t>((n - c + 2) / 3) : 0);
  }
  writer.finish(meta);
}

struct RankResult {
  int status = -1;  // exit status; -1 when killed by a signal
  int signal = 0;   // the signal that killed it, if one did
  std::string out, err;
  double seconds = 0;  // from the start to this rank's exit
};

// sg_train as `world` ranks with torchrun's variables; `during` (if given)
// is called with the pids while they run. Waits for every rank.
std::vector<RankResult> run_ranks(const fs::path& folder, int world, const std::vector<std::string>& args,
                                  const std::function<void(const std::vector<pid_t>&)>& during = {},
                                  const std::map<std::string, std::string>& extra_env = {}, int store_port = 0,
                                  const std::function<std::vector<std::string>(int)>& args_of_rank = {}) {
  const int port = store_port > 0 ? store_port : free_loopback_port();
  std::vector<pid_t> pids;
  const auto start = std::chrono::steady_clock::now();
  for (int rank = 0; rank < world; ++rank) {
    const std::string out = (folder / ("rank" + std::to_string(rank) + ".out")).string();
    const std::string err = (folder / ("rank" + std::to_string(rank) + ".err")).string();
    const pid_t pid =
        start_local_rank(program("sg_train"), args_of_rank ? args_of_rank(rank) : args, rank, world, port, [&] {
          for (const auto& [name, value] : extra_env) ::setenv(name.c_str(), value.c_str(), 1);
          if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) ::_exit(126);
        });
    pids.push_back(pid);
  }
  if (during) during(pids);
  std::vector<RankResult> results(static_cast<size_t>(world));
  for (int done = 0; done < world; ++done) {
    int status = 0;
    const pid_t pid = ::wait(&status);
    const auto it = std::find(pids.begin(), pids.end(), pid);
    if (it == pids.end()) continue;
    RankResult& r = results[static_cast<size_t>(it - pids.begin())];
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  for (int rank = 0; rank < world; ++rank) {
    results[static_cast<size_t>(rank)].out = test::read_file((folder / ("rank" + std::to_string(rank) + ".out")).string());
    results[static_cast<size_t>(rank)].err = test::read_file((folder / ("rank" + std::to_string(rank) + ".err")).string());
  }
  return results;
}

std::string digest_of(const RankResult& r) {
  std::smatch m;
  return std::regex_search(r.out, m, std::regex("state digest ([0-9a-f]{16})")) ? m[1].str() : "";
}

std::string describe(const std::vector<RankResult>& ranks) {
  std::string text;
  for (size_t i = 0; i < ranks.size(); ++i)
    text += "rank " + std::to_string(i) + " exit " + std::to_string(ranks[i].status) +
            (ranks[i].signal ? std::string(" (signal ") + strsignal(ranks[i].signal) + ")" : std::string()) + "\n" +
            ranks[i].out + ranks[i].err;
  return text;
}

// The tiny progressive run every test here trains: 8x8 then 16x16.
std::vector<std::string> tiny_run(const TempDir& dir, const std::string& out, int batch, int iterations) {
  return {dir / "d.lmdb", "--out", out, "--channels", "8", "--batch", std::to_string(batch), "--phase", "48",
          "--max_size", "16", "--mixing", "--max_iter", std::to_string(iterations), "--checkpoint-every", "6",
          "--sample-every", "0", "--device", "cpu", "--threads", "1", "--quiet", "--seed", "5", "--dist-timeout", "30"};
}

// log.csv's schedule columns (iteration, images, size, alpha, lr), one row per line.
std::vector<std::string> schedule_rows(const std::string& run) {
  std::ifstream in(fs::path(run) / "log.csv");
  std::vector<std::string> rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::string row, cell;
    for (int i = 0; i < 5 && std::getline(cells, cell, ','); ++i) row += cell + ",";
    rows.push_back(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------
// The launch environment.

EnvironmentLookup lookup_of(const std::map<std::string, std::string>& variables) {
  return [variables](const char* name) -> const char* {
    const auto it = variables.find(name);
    return it == variables.end() ? nullptr : it->second.c_str();
  };
}

TEST(Launch, OneProcessWithoutALauncher) {
  const LaunchEnvironment e = read_launch_environment(lookup_of({{"MASTER_ADDR", "x"}}));
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.launcher, "");
}

TEST(Launch, ReadsTorchrunsVariables) {
  const LaunchEnvironment e = read_launch_environment(lookup_of({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"},
      {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "node0"}, {"MASTER_PORT", "29500"},
      {"SLURM_PROCID", "7"}, {"SLURM_NTASKS", "9"}}));
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "node0");
  EXPECT_EQ(e.master_port, 29500);
}

TEST(Launch, PyTorch2sTorchrunMayServeTheStoreItself) {
  const LaunchEnvironment e = read_launch_environment(lookup_of({{"RANK", "0"}, {"WORLD_SIZE", "2"},
      {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29400"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
      {"TORCHELASTIC_RESTART_COUNT", "2"}}));
  EXPECT_TRUE(e.agent_store);
  EXPECT_EQ(e.restart_count, 2);
  EXPECT_FALSE(read_launch_environment(lookup_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"},
      {"MASTER_PORT", "1"}, {"TORCHELASTIC_USE_AGENT_STORE", "False"}})).agent_store);
}

TEST(Launch, ReadsSlurmsVariablesWithAGivenStore) {
  const LaunchEnvironment e = read_launch_environment(lookup_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"},
      {"SLURM_LOCALID", "1"}, {"SLURM_NTASKS_PER_NODE", "4"}, {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "12345"}}));
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 4);
  EXPECT_EQ(e.master_port, 12345);
  // "2(x3)": SLURM's uneven-nodes form is no count.
  EXPECT_EQ(read_launch_environment(lookup_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"},
                {"SLURM_NTASKS_PER_NODE", "2(x3)"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}})).local_world_size, 1);
}

TEST(Launch, RefusesWhatCannotWork) {
  auto message = [](const std::map<std::string, std::string>& v) {
    try {
      read_launch_environment(lookup_of(v));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message({{"RANK", "0"}}).find("WORLD_SIZE is not set"), std::string::npos);
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}).find("RANK=2 is outside 0..1"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK=x is not a whole number"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR is not set"), std::string::npos);
  EXPECT_NE(message({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"MASTER_ADDR", "a"}}).find("MASTER_PORT is not set"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "70000"}}).find("outside"),
            std::string::npos);
  // A world of one needs no store.
  EXPECT_EQ(message({{"RANK", "0"}, {"WORLD_SIZE", "1"}}), "accepted");
}

// ---------------------------------------------------------------------------
// Shards of the batch stream.

TEST(Shards, DisjointAndTogetherTheGlobalBatchOverEpochs) {
  TempDir dir;
  write_dataset(dir / "d.lmdb", 26);  // 26 records: 2 batches of 12 per epoch, 2 left out
  LmdbReader reader(dir / "d.lmdb");
  for (int shards : {2, 3, 4}) {
    BatchStreamOptions o;
    o.size = 8;
    o.batch = 12;
    o.seed = 9;
    o.threads = 1;
    BatchStream global(reader, o);
    std::vector<std::unique_ptr<BatchStream>> parts;
    for (int s = 0; s < shards; ++s) {
      BatchStreamOptions so = o;
      so.shards = shards;
      so.shard = s;
      parts.push_back(std::make_unique<BatchStream>(reader, so));
      EXPECT_EQ(parts.back()->batches_per_epoch(), global.batches_per_epoch());
    }
    for (int b = 0; b < 5; ++b) {  // into the third epoch
      const Batch whole = global.next();
      std::vector<float> joined;
      for (auto& part : parts) {
        const Batch piece = part->next();
        EXPECT_EQ(piece.count, 12 / shards);
        EXPECT_EQ(piece.epoch, whole.epoch);
        EXPECT_EQ(piece.batch_in_epoch, whole.batch_in_epoch);
        joined.insert(joined.end(), piece.pixels.begin(), piece.pixels.end());
      }
      // The shards in rank order are the one-process batch, image for image
      // (its records are distinct: an epoch is a permutation).
      EXPECT_EQ(joined, whole.pixels) << shards << " shards, batch " << b;
    }
  }
  // With labels, each shard's labels are those of its own images.
  write_dataset(dir / "labelled.lmdb", 24, true);
  LmdbReader labelled(dir / "labelled.lmdb");
  std::map<std::vector<float>, int64_t> class_of_image;  // by the unmirrored pixels
  for (int i = 0; i < 24; ++i) {
    const Image8 slice = test::synthetic_slice(8, 8, i);
    std::vector<float> pixels;
    for (uint8_t p : slice.pixels) pixels.push_back(static_cast<float>(p) * (1.f / 127.5f) - 1.f);
    class_of_image[pixels] = i % 3;
  }
  for (int shard = 0; shard < 2; ++shard) {
    BatchStreamOptions o;
    o.size = 8;
    o.batch = 12;
    o.seed = 9;
    o.threads = 1;
    o.mirror = false;
    o.labels = true;
    o.shards = 2;
    o.shard = shard;
    BatchStream part(labelled, o);
    for (int b = 0; b < 4; ++b) {
      const Batch piece = part.next();
      ASSERT_EQ(piece.labels.size(), 6u);
      for (int i = 0; i < piece.count; ++i) {
        const std::vector<float> image(piece.pixels.begin() + i * 64, piece.pixels.begin() + (i + 1) * 64);
        ASSERT_EQ(class_of_image.count(image), 1u);
        EXPECT_EQ(piece.labels[static_cast<size_t>(i)], class_of_image[image]) << "shard " << shard << " batch " << b;
      }
    }
  }
  BatchStreamOptions uneven;
  uneven.size = 8;
  uneven.batch = 12;
  uneven.shards = 5;
  EXPECT_THROW(BatchStream(reader, uneven), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// The oracle: the same ranks in one process, one at a time.
//
// Each rank is a thread running the library's train(); a baton lets exactly
// one run, from one collective to the next, so that torch's global CPU
// generator (swapped in and out with the baton) is each rank's own, as in
// its own process. A collective completes when the last rank arrives: sums
// are plain additions in rank order, broadcasts copies of rank 0's.

class BatonWorld {
 public:
  explicit BatonWorld(int size) : size_(size), generator_states_(static_cast<size_t>(size)), deposits_(static_cast<size_t>(size)) {}

  // body(rank's collectives, rank) on one thread per rank, one at a time.
  void run(const std::function<void(Collectives&, int)>& body) {
    std::vector<std::unique_ptr<Rank>> ranks;
    for (int r = 0; r < size_; ++r) ranks.push_back(std::make_unique<Rank>(*this, r));
    std::vector<std::thread> threads;
    std::vector<std::string> errors(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r)
      threads.emplace_back([&, r] {
        take_turn(r);
        try {
          body(*ranks[static_cast<size_t>(r)], r);
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(r)] = e.what();
          std::lock_guard<std::mutex> lock(mutex_);
          failed_ = true;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.push_back(r);
        pass_turn(r);
      });
    for (auto& t : threads) t.join();
    for (const std::string& e : errors) EXPECT_EQ(e, "");
  }

  // The library's train() as every rank.
  std::vector<TrainResult> train_ranks(const std::function<TrainOptions(int)>& options_of_rank) {
    std::vector<TrainResult> results(static_cast<size_t>(size_));
    run([&](Collectives& collectives, int rank) {
      TrainOptions o = options_of_rank(rank);
      o.collectives = &collectives;
      results[static_cast<size_t>(rank)] = train(o);
    });
    return results;
  }

 private:
  enum class Kind { Sum, Broadcast, Max };

  class Rank final : public Collectives {
   public:
    Rank(BatonWorld& world, int rank) : world_(world), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return world_.size_; }
    void sum(std::vector<at::Tensor>& tensors) override { world_.exchange(rank_, tensors, Kind::Sum); }
    void broadcast(std::vector<at::Tensor>& tensors) override { world_.exchange(rank_, tensors, Kind::Broadcast); }
    std::vector<int64_t> max(const std::vector<int64_t>& values) override {
      std::vector<at::Tensor> t{at::tensor(values, at::kLong)};
      world_.exchange(rank_, t, Kind::Max);
      return std::vector<int64_t>(t[0].data_ptr<int64_t>(), t[0].data_ptr<int64_t>() + t[0].numel());
    }

   private:
    BatonWorld& world_;
    int rank_;
  };

  void take_turn(int rank) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return turn_ == rank; });
    if (generator_states_[static_cast<size_t>(rank)].defined())
      restore_generator(rank);
  }

  void restore_generator(int rank) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(generator_states_[static_cast<size_t>(rank)]);
  }

  // With the lock held.
  void pass_turn(int rank) {
    generator_states_[static_cast<size_t>(rank)] = at::detail::getDefaultCPUGenerator().get_state();
    for (int step = 1; step <= size_; ++step) {
      const int next = (rank + step) % size_;
      if (std::find(finished_.begin(), finished_.end(), next) == finished_.end()) {
        turn_ = next;
        break;
      }
    }
    changed_.notify_all();
  }

  void exchange(int rank, std::vector<at::Tensor>& tensors, Kind kind) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (failed_) throw DistributedError("another rank failed");
    deposits_[static_cast<size_t>(rank)] = &tensors;
    const uint64_t generation = generation_;
    if (++arrived_ == size_) {
      for (size_t i = 0; i < tensors.size(); ++i) {
        at::Tensor result = (*deposits_[0])[i].clone();
        for (int r = 1; r < size_; ++r) {
          const at::Tensor& t = (*deposits_[static_cast<size_t>(r)])[i];
          if (kind == Kind::Sum) result.add_(t);
          if (kind == Kind::Max) result = at::maximum(result, t);
        }
        for (int r = 0; r < size_; ++r) (*deposits_[static_cast<size_t>(r)])[i].copy_(result);
      }
      arrived_ = 0;
      ++generation_;
    }
    pass_turn(rank);
    changed_.wait(lock, [&] { return failed_ || (generation_ > generation && turn_ == rank); });
    if (failed_) throw DistributedError("another rank failed");
    restore_generator(rank);
  }

  const int size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int turn_ = 0, arrived_ = 0;
  uint64_t generation_ = 0;
  bool failed_ = false;
  std::vector<int> finished_;
  std::vector<at::Tensor> generator_states_;
  std::vector<std::vector<at::Tensor>*> deposits_;
};

TEST(GradientAverager, EachGradientBecomesTheMeanOverRanksWhateverItsBucketOrLayout) {
  // Per rank: float and double parameters, one channels-last, one without a
  // gradient; buckets of 64 bytes split them every way.
  auto make = [](int rank) {
    torch::manual_seed(100 + rank);
    std::vector<torch::Tensor> p{torch::randn({3, 4, 2, 2}).contiguous(torch::MemoryFormat::ChannelsLast),
                                 torch::randn({5}), torch::randn({7}, torch::kDouble), torch::randn({2, 3}),
                                 torch::randn({40})};
    for (size_t i = 0; i < p.size(); ++i) {
      p[i].requires_grad_(true);
      if (i == 3) continue;  // no gradient: left alone
      p[i].mutable_grad() = (torch::randn_like(p[i]) * (rank + 1)).contiguous(p[i].suggest_memory_format());
    }
    return p;
  };
  const int world_size = 3;
  std::vector<std::vector<torch::Tensor>> parameters, before;
  for (int r = 0; r < world_size; ++r) {
    parameters.push_back(make(r));
    before.emplace_back();
    for (auto& p : parameters.back()) before.back().push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  }
  for (int64_t bucket_bytes : {int64_t{64}, int64_t{1} << 20}) {
    std::vector<std::vector<torch::Tensor>> grads = before;
    for (int r = 0; r < world_size; ++r)
      for (size_t i = 0; i < grads[r].size(); ++i)
        if (grads[r][i].defined()) parameters[r][i].mutable_grad().copy_(grads[r][i]);
    BatonWorld world(world_size);
    std::vector<ReduceStats> stats(world_size);
    world.run([&](Collectives& collectives, int rank) {
      GradientAverager averager(collectives, bucket_bytes);
      averager.average(parameters[static_cast<size_t>(rank)]);
      stats[static_cast<size_t>(rank)] = averager.stats();
    });
    for (size_t i = 0; i < before[0].size(); ++i) {
      if (!before[0][i].defined()) {
        EXPECT_FALSE(parameters[0][i].grad().defined());
        continue;
      }
      const torch::Tensor mean = (before[0][i] + before[1][i] + before[2][i]) / 3;
      for (int r = 0; r < world_size; ++r) {
        EXPECT_TRUE(torch::allclose(parameters[r][i].grad(), mean, 1e-6, 1e-6)) << "parameter " << i << " rank " << r;
        EXPECT_EQ(parameters[r][i].grad().is_contiguous(torch::MemoryFormat::ChannelsLast), i == 0);
      }
    }
    // 48 + 5 + 40 floats and 7 doubles. Consecutive gradients of one dtype
    // share a bucket: 64 bytes give [48] [5] [7 doubles] [40]; 1 MiB
    // [48 5] [7 doubles] [40].
    EXPECT_EQ(stats[0].bytes, (48 + 5 + 40) * 4 + 7 * 8);
    EXPECT_EQ(stats[0].buckets, bucket_bytes == 64 ? 4 : 3);
    EXPECT_EQ(stats[0].calls, 1);
  }
}

// Every tensor of two checkpoints' state dicts: the largest difference.
double largest_difference(const std::string& a, const std::string& b, int* compared) {
  const TorchFile fa = read_torch_file(a), fb = read_torch_file(b);
  double largest = 0;
  *compared = 0;
  for (const char* dict : {"generator", "discriminator", "g_running", "g", "d", "g_ema"}) {
    const PyValue* da = fa.root->find(dict);
    const PyValue* db = fb.root->find(dict);
    if (!da || !db) continue;
    for (const std::string& key : da->keys()) {
      const PyValue* ta = da->find(key);
      const PyValue* tb = db->find(key);
      if (!ta || !tb || !ta->is(PyValue::Kind::Tensor)) continue;
      EXPECT_TRUE(tb->is(PyValue::Kind::Tensor)) << key;
      largest = std::max(largest, (ta->tensor.to(at::kDouble) - tb->tensor.to(at::kDouble)).abs().max().item<double>());
      ++*compared;
    }
  }
  return largest;
}

void expect_matches_oracle(const std::vector<std::string>& extra_flags, bool stylegan2) {
  TempDir dir;
  const bool conditional = std::count(extra_flags.begin(), extra_flags.end(), "--cond") > 0;
  write_dataset(dir / "d.lmdb", 24, conditional);
  std::vector<std::string> args = stylegan2
      ? std::vector<std::string>{dir / "d.lmdb", "--out", dir / "processes", "--arch", "stylegan2", "--size", "8",
                                 "--channels", "8", "--batch", "8", "--max_iter", "17", "--checkpoint-every", "100",
                                 "--sample-every", "0", "--device", "cpu", "--threads", "1", "--quiet", "--seed", "5",
                                 "--mixing"}
      : tiny_run(dir, dir / "processes", 8, 20);
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  const auto ranks = run_ranks(dir.path(), 2, args);
  ASSERT_EQ(ranks[0].status, 0) << describe(ranks);
  ASSERT_EQ(ranks[1].status, 0) << describe(ranks);

  // The same two ranks as threads of this process.
  configure_cpu_runtime(1);
  BatonWorld world(2);
  const auto oracle = world.train_ranks([&](int rank) {
    TrainOptions o;
    o.lmdb = dir / "d.lmdb";
    o.out = dir / ("oracle" + std::to_string(rank));
    o.model.max_channels = 8;
    o.schedule.batch = 8;
    o.mixing = true;
    o.sample_every = 0;
    o.device = "cpu";
    o.seed = 5;
    if (stylegan2) {
      o.arch = Architecture::StyleGan2;
      o.schedule.max_size = 8;
      o.schedule.lr = 0.002;
      o.loss = GanLoss::R1;
      o.max_iter = 17;
      o.checkpoint_every = 100;
    } else {
      o.schedule.phase = 48;
      o.schedule.max_size = 16;
      o.max_iter = 20;
      o.checkpoint_every = 6;
    }
    for (size_t i = 0; i < extra_flags.size(); ++i) {
      if (extra_flags[i] == "--augment") o.augment.enabled = true;
      if (extra_flags[i] == "--cond") o.conditional = true;
      if (extra_flags[i] == "--ada_every") o.augment.every = std::stoi(extra_flags[i + 1]);
      if (extra_flags[i] == "--ada_length") o.augment.length = std::stoi(extra_flags[i + 1]);
    }
    return o;
  });
  EXPECT_EQ(oracle[0].state_digest, oracle[1].state_digest);
  if (conditional) {
    EXPECT_EQ(stylegan2::read_checkpoint_info(dir / "processes/checkpoints/latest.ckpt").class_names,
              (std::vector<std::string>{"a", "b", "c"}));
  }
  int compared = 0;
  const double difference = largest_difference(dir / "processes/checkpoints/latest.ckpt",
                                               dir / "oracle0/checkpoints/latest.ckpt", &compared);
  EXPECT_GT(compared, 20);
  EXPECT_LT(difference, 1e-5) << "processes against the one-process oracle";
  char digest[32];
  std::snprintf(digest, sizeof digest, "%016llx", static_cast<unsigned long long>(oracle[0].state_digest));
  // In practice bit for bit: with two ranks a + b is b + a, and / 2 exact.
  EXPECT_EQ(digest_of(ranks[0]), digest);
}

TEST(Distributed, TwoRanksMatchOneProcessAveragingTheSameHalfBatches) {
  expect_matches_oracle({"--augment", "--ada_every", "8", "--ada_length", "400"}, false);
}

TEST(Distributed, TwoStyleGan2RanksMatchTheOracle) { expect_matches_oracle({}, true); }

// Class-conditional with ADA: the labels travel with their images' shards,
// the augmentation leaves them alone, and the ranks agree with the oracle.
TEST(Distributed, TwoConditionalStyleGan2RanksWithAdaMatchTheOracle) {
  expect_matches_oracle({"--cond", "--augment", "--ada_every", "4", "--ada_length", "400"}, true);
}

// ---------------------------------------------------------------------------
// Runs of the built program.

TEST(Distributed, TwoAndThreeRanksEndWithTheSameWeightsAndOneWriter) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  for (int world : {2, 3}) {
    const std::string out = dir / ("run" + std::to_string(world));
    const auto ranks = run_ranks(dir.path(), world, tiny_run(dir, out, 6, 14));
    std::set<std::string> digests;
    for (const RankResult& r : ranks) {
      ASSERT_EQ(r.status, 0) << describe(ranks);
      digests.insert(digest_of(r));
    }
    EXPECT_EQ(digests.size(), 1u) << describe(ranks);
    EXPECT_NE(*digests.begin(), "");
    // Rank 0 alone wrote the run folder: one log, one set of checkpoints.
    EXPECT_TRUE(fs::exists(fs::path(out) / "checkpoints" / "000014.ckpt"));
    EXPECT_EQ(schedule_rows(out).size(), 1u);  // iteration 10 (--log-every 10)
    EXPECT_NE(ranks[0].out.find("(84 images)"), std::string::npos) << ranks[0].out;  // global images: 14 x 6
    for (size_t r = 1; r < ranks.size(); ++r) EXPECT_EQ(ranks[r].out.find("checkpoint:"), std::string::npos);
  }
}

// Rank 0 measures SWD from 16x16 on; the others learn whether it did, so an
// evaluation at 8x8 adds no row (iterations 4 to 16 here: 16x16 from 97
// images on), as in one process.
TEST(Distributed, EvaluationRowsOnlyWhereRankZeroMeasured) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  const std::string out = dir / "eval";
  std::vector<std::string> args = tiny_run(dir, out, 6, 24);
  args.insert(args.end(), {"--eval-every", "4", "--eval-images", "16", "--log-every", "100"});
  const auto ranks = run_ranks(dir.path(), 2, args);
  for (const RankResult& r : ranks) ASSERT_EQ(r.status, 0) << describe(ranks);
  std::ifstream in(fs::path(out) / "log.csv");
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> columns;
  std::stringstream names(header);
  for (std::string name; std::getline(names, name, ',');) columns.push_back(name);
  const auto swd_column = std::find(columns.begin(), columns.end(), "swd") - columns.begin();
  ASSERT_LT(static_cast<size_t>(swd_column), columns.size()) << header;
  std::vector<std::string> iterations;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    iterations.push_back(cells.at(0));
    EXPECT_TRUE(static_cast<size_t>(swd_column) < cells.size() && !cells[static_cast<size_t>(swd_column)].empty()) << line;
  }
  EXPECT_EQ(iterations, (std::vector<std::string>{"20", "24"}));
}

TEST(Distributed, UnderTorchrunsOwnStoreEveryRankIsItsClient) {
  // PyTorch 2's torchrun: its agent serves the store, the workers' keys
  // under /worker/attempt_N. The test plays the agent.
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  const int port = free_loopback_port();
  c10d::TCPStoreOptions agent;
  agent.port = static_cast<uint16_t>(port);
  agent.isServer = true;
  agent.waitWorkers = false;
  auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", agent);
  const auto ranks = run_ranks(dir.path(), 2, tiny_run(dir, dir / "run", 6, 4), {},
                               {{"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "1"}}, port);
  ASSERT_EQ(ranks[0].status, 0) << describe(ranks);
  ASSERT_EQ(ranks[1].status, 0) << describe(ranks);
  EXPECT_EQ(digest_of(ranks[0]), digest_of(ranks[1]));
  EXPECT_GT(store->getNumKeys(), 0);  // the ranks met in the agent's store
}

TEST(Distributed, GlooListensOnTheInterfaceGlooSocketIfnameNames) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  const auto ranks = run_ranks(dir.path(), 2, tiny_run(dir, dir / "run", 6, 2), {}, {{"GLOO_SOCKET_IFNAME", "lo"}});
  ASSERT_EQ(ranks[0].status, 0) << describe(ranks);
  EXPECT_EQ(digest_of(ranks[0]), digest_of(ranks[1]));
  const auto missing = run_ranks(dir.path(), 2, tiny_run(dir, dir / "run2", 6, 2), {},
                                 {{"GLOO_SOCKET_IFNAME", "no-such-interface0"}});
  for (const RankResult& r : missing) {
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("could not join the group"), std::string::npos) << r.err;
  }
}

TEST(Distributed, ResumesWithAnyWorldSizeAndContinuesTheSchedule) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  // One process straight through: the schedule every chain must follow
  // (growth to 16x16 after 48 images, its fade-in, the --sched-free lr).
  const std::string straight = dir / "straight";
  {
    std::vector<std::string> args = tiny_run(dir, straight, 6, 30);
    args.insert(args.end(), {"--log-every", "1"});
    const auto one = run_ranks(dir.path(), 1, args);  // WORLD_SIZE=1: no group at all
    ASSERT_EQ(one[0].status, 0) << describe(one);
  }
  // 1 -> 2 -> 3 -> 2 -> 1 processes, six iterations each, one run folder.
  const std::string chain = dir / "chain";
  int world_sizes[] = {1, 2, 3, 2, 1};
  for (int leg = 0; leg < 5; ++leg) {
    std::vector<std::string> args = tiny_run(dir, chain, 6, 6 * (leg + 1));
    args.insert(args.end(), {"--log-every", "1"});
    if (leg > 0) args.insert(args.end(), {"--ckpt", chain + "/checkpoints/latest.ckpt"});
    const auto ranks = run_ranks(dir.path(), world_sizes[leg], args);
    for (const RankResult& r : ranks) ASSERT_EQ(r.status, 0) << "leg " << leg << "\n" << describe(ranks);
  }
  const auto expected = schedule_rows(straight), got = schedule_rows(chain);
  ASSERT_EQ(got.size(), 30u);
  EXPECT_EQ(got, expected);  // iteration, images seen, size, alpha and lr, row for row
}

TEST(Distributed, AResumeAtTheSameWorldSizeContinuesBitForBit) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  const auto straight = run_ranks(dir.path(), 2, tiny_run(dir, dir / "straight", 6, 24));
  ASSERT_EQ(straight[0].status, 0) << describe(straight);
  const auto first = run_ranks(dir.path(), 2, tiny_run(dir, dir / "resumed", 6, 12));
  ASSERT_EQ(first[0].status, 0) << describe(first);
  auto args = tiny_run(dir, dir / "resumed", 6, 24);
  args.insert(args.end(), {"--ckpt", dir / "resumed/checkpoints/latest.ckpt"});
  const auto second = run_ranks(dir.path(), 2, args);
  ASSERT_EQ(second[0].status, 0) << describe(second);
  EXPECT_EQ(digest_of(second[0]), digest_of(straight[0]));
  EXPECT_EQ(digest_of(second[1]), digest_of(straight[1]));
}

TEST(Distributed, AnUnevenSplitIsRefusedInOneLine) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  const auto ranks = run_ranks(dir.path(), 3, tiny_run(dir, dir / "run", 8, 4));
  for (const RankResult& r : ranks) {
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("does not split evenly over 3 processes"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// A long run at 8x8 that checkpoints often.
std::vector<std::string> long_run(const TempDir& dir, const std::string& out) {
  return {dir / "d.lmdb", "--out", out, "--channels", "8", "--batch", "6", "--phase", "100000000", "--max_size", "8",
          "--max_iter", "100000000", "--checkpoint-every", "5", "--sample-every", "0", "--device", "cpu", "--threads",
          "1", "--quiet", "--dist-timeout", "20"};
}

void wait_for(const fs::path& file, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!fs::exists(file) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

TEST(Distributed, AKilledRankStopsTheOthersWithOneLineAndKeepsTheLastCheckpoint) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  for (int victim : {1, 0}) {
    const std::string out = dir / ("run" + std::to_string(victim));
    double killed_at = 0;
    std::vector<pid_t> pids_seen;
    const auto start = std::chrono::steady_clock::now();
    const auto ranks = run_ranks(dir.path(), 3, long_run(dir, out), [&](const std::vector<pid_t>& pids) {
      pids_seen = pids;
      wait_for(fs::path(out) / "checkpoints" / "latest.ckpt", std::chrono::seconds(60));
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      ::kill(pids[static_cast<size_t>(victim)], SIGKILL);
      killed_at = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    });
    EXPECT_EQ(ranks[static_cast<size_t>(victim)].status, -1);
    for (int r = 0; r < 3; ++r) {
      if (r == victim) continue;
      const RankResult& survivor = ranks[static_cast<size_t>(r)];
      EXPECT_EQ(survivor.status, 1) << describe(ranks);
      EXPECT_LT(survivor.seconds - killed_at, 20.0) << "bounded by --dist-timeout";
      EXPECT_NE(survivor.err.find("lost rank " + std::to_string(victim)), std::string::npos) << survivor.err;
      EXPECT_EQ(std::count(survivor.err.begin(), survivor.err.end(), '\n'), 1) << survivor.err;
    }
    // The last checkpoint is whole: it loads. A SIGKILL cannot be caught, so
    // the writer (rank 0) may leave its temporary, named by its pid; the
    // next run into the folder removes it. A survivor leaves none.
    const std::string checkpoints = out + "/checkpoints";
    std::vector<std::string> files;
    ASSERT_FALSE(list_files(checkpoints, Depth::top_level, files, {}));
    const std::string killed_writer = ".tmp-" + std::to_string(pids_seen[0]);
    for (const std::string& f : files) {
      if (f.find(".tmp") == std::string::npos) continue;
      EXPECT_TRUE(victim == 0 && f.size() > killed_writer.size() &&
                  f.compare(f.size() - killed_writer.size(), killed_writer.size(), killed_writer) == 0)
          << f;
    }
    remove_abandoned_temporaries(checkpoints);
    files.clear();
    ASSERT_FALSE(list_files(checkpoints, Depth::top_level, files, {}));
    for (const std::string& f : files) EXPECT_EQ(f.find(".tmp"), std::string::npos) << f;
    EXPECT_NO_THROW(read_torch_file(checkpoints + "/latest.ckpt"));
  }
}

TEST(Distributed, AHungRankStopsTheOthersAfterTheTimeout) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  const std::string out = dir / "run";
  std::vector<std::string> args = long_run(dir, out);
  args.back() = "4";  // --dist-timeout 4
  double stopped_at = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto ranks = run_ranks(dir.path(), 2, args, [&](const std::vector<pid_t>& pids) {
    wait_for(fs::path(out) / "checkpoints" / "latest.ckpt", std::chrono::seconds(60));
    ::kill(pids[1], SIGSTOP);
    stopped_at = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Rank 0 gives up by itself (its error line is its last act); then the
    // hung rank is cleared away.
    const fs::path error = dir.path() / "rank0.err";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((!fs::exists(error) || fs::file_size(error) == 0) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pids[1], SIGKILL);
    ::kill(pids[1], SIGCONT);
  });
  EXPECT_EQ(ranks[0].status, 1) << describe(ranks);
  EXPECT_LT(ranks[0].seconds - stopped_at, 4 + 10.0) << "the timeout, then the check-in's grace";
  EXPECT_NE(ranks[0].err.find("lost rank 1"), std::string::npos) << ranks[0].err;
  EXPECT_NO_THROW(read_torch_file(out + "/checkpoints/latest.ckpt"));
}

TEST(Distributed, ARankThatFailsOnItsOwnTellsTheOthersWhy) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  // Rank 1 alone is pointed at an LMDB without the 16x16 records.
  {
    LmdbWriter writer(dir / "small.lmdb", {});
    std::vector<LmdbRecord> records;
    for (int i = 0; i < 24; ++i)
      records.push_back({TRAIN, record_key(8, static_cast<uint64_t>(i)),
                         encode_record(test::synthetic_slice(8, 8, i), RAW, 1, 1)});
    writer.write(records);
    writer.finish(describe_dataset({8}, 1, RAW, {24, 0, 0}));
  }
  const auto ranks = run_ranks(dir.path(), 2, {}, {}, {}, 0, [&](int rank) {
    std::vector<std::string> args = tiny_run(dir, dir / "run", 6, 4);
    if (rank == 1) args[0] = dir / "small.lmdb";
    return args;
  });
  EXPECT_EQ(ranks[1].status, 1);
  EXPECT_NE(ranks[1].err.find("holds no 16x16 records"), std::string::npos) << ranks[1].err;
  EXPECT_EQ(ranks[0].status, 1);
  EXPECT_NE(ranks[0].err.find("rank 1 stopped:"), std::string::npos) << ranks[0].err;
  EXPECT_NE(ranks[0].err.find("holds no 16x16 records"), std::string::npos) << ranks[0].err;
  EXPECT_EQ(std::count(ranks[0].err.begin(), ranks[0].err.end(), '\n'), 1) << ranks[0].err;
}

TEST(Distributed, SigtermOnOneRankStopsEveryRankAtOneIterationWithOneCheckpoint) {
  TempDir dir;
  write_dataset(dir / "d.lmdb");
  const std::string out = dir / "run";
  const auto ranks = run_ranks(dir.path(), 2, long_run(dir, out), [&](const std::vector<pid_t>& pids) {
    wait_for(fs::path(out) / "checkpoints" / "latest.ckpt", std::chrono::seconds(60));
    ::kill(pids[1], SIGTERM);
  });
  for (const RankResult& r : ranks) EXPECT_EQ(r.status, 130) << describe(ranks);
  std::smatch m0, m1;
  const std::regex stopped("interrupted after ([0-9]+) iterations");
  ASSERT_TRUE(std::regex_search(ranks[0].out, m0, stopped)) << ranks[0].out;
  ASSERT_TRUE(std::regex_search(ranks[1].out, m1, stopped)) << ranks[1].out;
  EXPECT_EQ(m0[1].str(), m1[1].str());
  EXPECT_EQ(digest_of(ranks[0]), digest_of(ranks[1]));
  char name[32];
  std::snprintf(name, sizeof name, "%06d.ckpt", std::stoi(m0[1].str()));
  EXPECT_TRUE(fs::exists(fs::path(out) / "checkpoints" / name));
}

}  // namespace
}  // namespace sg
