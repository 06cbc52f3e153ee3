#include "model/distributed/collectives.hpp"

#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "common/errors.hpp"

#ifdef SG_HAVE_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef SG_HAVE_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace sg {

bool have_gloo() {
#ifdef SG_HAVE_GLOO
  return true;
#else
  return false;
#endif
}

bool have_nccl() {
#ifdef SG_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

#ifdef SG_HAVE_GLOO
namespace {

// LibTorch 2 split the process group into ProcessGroup and its Backend;
// the Gloo and NCCL classes derive from the latter there.
#if TORCH_VERSION_MAJOR >= 2
using GroupBase = c10d::Backend;
#else
using GroupBase = c10d::ProcessGroup;
#endif

class ProcessCollectives final : public Collectives {
 public:
  ProcessCollectives(const LaunchEnvironment& launch, const ProcessGroupOptions& options)
      : launch_(launch), timeout_(options.timeout), end_process_(options.end_process) {
    const std::string backend = options.backend.empty() ? (options.cuda && have_nccl() ? "nccl" : "gloo") : options.backend;
    if (backend != "gloo" && backend != "nccl")
      throw std::invalid_argument("--dist-backend " + backend + ": gloo or nccl");
    if (backend == "nccl" && !have_nccl())
      throw std::invalid_argument("--dist-backend nccl: this build's LibTorch has no NCCL (a CPU build); use gloo");
    if (backend == "nccl" && !options.cuda)
      throw std::invalid_argument("--dist-backend nccl needs --device cuda; on the CPU use gloo");
    const std::string where = launch.master_addr + ":" + std::to_string(launch.master_port);
    try {
      c10d::TCPStoreOptions store_options;
      store_options.port = static_cast<uint16_t>(launch.master_port);
      store_options.isServer = launch.rank == 0 && !launch.agent_store;
      store_options.numWorkers = static_cast<size_t>(launch.world_size);
      store_options.waitWorkers = true;
      store_options.timeout = timeout_;
      store_ = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, store_options);
      // The watcher's own connection, so that it never waits behind the
      // main thread's store calls.
      store_options.isServer = false;
      watch_store_ = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, store_options);
      // The keys torch.distributed's workers use under torchrun's own store.
      if (launch.agent_store) {
        const std::string prefix = "/worker/attempt_" + std::to_string(launch.restart_count);
        store_ = c10::make_intrusive<c10d::PrefixStore>(prefix, store_);
        watch_store_ = c10::make_intrusive<c10d::PrefixStore>(prefix, watch_store_);
      }
      control_ = make_gloo(c10::make_intrusive<c10d::PrefixStore>("sg/control", store_));
      if (backend == "gloo") {
        data_ = make_gloo(c10::make_intrusive<c10d::PrefixStore>("sg/data", store_));
      } else {
#ifdef SG_HAVE_NCCL
        auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
        nccl_options->timeout = timeout_;
        data_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("sg/data", store_),
                                                            launch.rank, launch.world_size, nccl_options);
#endif
      }
    } catch (const std::exception& e) {
      throw DistributedError("rank " + std::to_string(launch.rank) + " of " + std::to_string(launch.world_size) +
                             " could not join the group at " + where + " (--dist-timeout " + seconds(timeout_) + "): " +
                             first_line(e.what()));
    }
    backend_ = backend;
    watcher_ = std::thread([this] { watch(); });
  }

  ~ProcessCollectives() override {
    stopping_ = true;
    if (watcher_.joinable()) watcher_.join();
  }

  int rank() const override { return launch_.rank; }
  int size() const override { return launch_.world_size; }

  void sum(std::vector<at::Tensor>& tensors) override {
    std::vector<c10::intrusive_ptr<c10d::Work>> pending;
    run("an all-reduce", [&] {
      for (at::Tensor& t : tensors) {
        std::vector<at::Tensor> one{t};
        pending.push_back(data_->allreduce(one));
      }
      for (auto& work : pending) work->wait();
    });
  }

  void broadcast(std::vector<at::Tensor>& tensors) override {
    run("a broadcast", [&] {
      for (at::Tensor& t : tensors) {
        std::vector<at::Tensor> one{t};
        data_->broadcast(one)->wait();
      }
    });
  }

  std::vector<int64_t> max(const std::vector<int64_t>& values) override {
    at::Tensor t = at::tensor(values, at::kLong);
    run("an all-reduce of flags", [&] {
      std::vector<at::Tensor> one{t};
      c10d::AllreduceOptions o;
      o.reduceOp = c10d::ReduceOp::MAX;
      control_->allreduce(one, o)->wait();
    });
    const int64_t* p = t.data_ptr<int64_t>();
    return std::vector<int64_t>(p, p + t.numel());
  }

  void announce_failure(const std::string& reason) override {
    try {
      store_->set(failure_key(launch_.rank), std::vector<uint8_t>(reason.begin(), reason.end()));
      const std::string told = "rank " + std::to_string(launch_.rank) + " stopped: " + reason;
      store_->set(abort_key(), std::vector<uint8_t>(told.begin(), told.end()));
      linger_as_store_server();
    } catch (const std::exception&) {
      // the store may be what failed
    }
  }

 private:
  c10::intrusive_ptr<GroupBase> make_gloo(const c10::intrusive_ptr<c10d::Store>& store) const {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout_);
    // The address other ranks reach this one at: the interfaces named by
    // GLOO_SOCKET_IFNAME (as torch.distributed reads it: a machine whose
    // hostname resolves to loopback needs it across machines), loopback when
    // the rendezvous itself is local, else the hostname's.
    const char* interfaces = std::getenv("GLOO_SOCKET_IFNAME");
    const bool local = launch_.master_addr == "127.0.0.1" || launch_.master_addr == "localhost";
    if (interfaces && *interfaces) {
      std::string list = interfaces;
      for (size_t start = 0; start <= list.size();) {
        const size_t end = std::min(list.find(',', start), list.size());
        if (end > start) options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(list.substr(start, end - start)));
        start = end + 1;
      }
    }
    if (options->devices.empty())
      options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                       : c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, launch_.rank, launch_.world_size, options);
  }

  static std::string seconds(std::chrono::milliseconds t) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t).count()) + " s";
  }
  static std::string failure_key(int rank) { return "sg/failed/" + std::to_string(rank); }
  // Rank 0 serves the store (unless torchrun's agent does): before it ends,
  // it stays until the others' watchers (once a second) have read why.
  void linger_as_store_server() const {
    if (launch_.rank == 0 && !launch_.agent_store)
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(timeout_, std::chrono::milliseconds(2500)));
  }

  static std::string beat_key(int rank) { return "sg/beat/" + std::to_string(rank); }
  static std::string abort_key() { return "sg/abort"; }

  template <typename F>
  void run(const char* what, F&& f) {
    if (aborted_) throw DistributedError(abort_reason());
    in_collective_ = true;
    try {
      f();
    } catch (const std::exception& e) {
      in_collective_ = false;
      if (aborted_) throw DistributedError(abort_reason());
      throw DistributedError(diagnose(what, first_line(e.what())));
    }
    in_collective_ = false;
  }

  std::string abort_reason() {
    std::lock_guard<std::mutex> lock(abort_mutex_);
    return abort_reason_;
  }

  // Every second: this rank's heartbeat in the store, and whether another
  // rank has declared the world broken. A rank blocked in a collective on a
  // live peer (which is itself stuck or diagnosing) would otherwise wait
  // for the whole timeout and then find the store gone with rank 0.
  void watch() {
    while (!stopping_) {
      for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stopping_) break;
      try {
        watch_store_->add(beat_key(launch_.rank), 1);
        if (!aborted_ && watch_store_->check({abort_key()})) {
          const std::vector<uint8_t> text = watch_store_->get(abort_key());
          {
            std::lock_guard<std::mutex> lock(abort_mutex_);
            abort_reason_ = "rank " + std::to_string(launch_.rank) + " of " + std::to_string(launch_.world_size) +
                            ": stopped with the others (" + std::string(text.begin(), text.end()) + ")";
          }
          aborted_ = true;
        }
        if (aborted_ && in_collective_) {
          linger_as_store_server();
          if (end_process_) end_process_(abort_reason());
          std::fprintf(stderr, "error: %s\n", abort_reason().c_str());
          std::fflush(stderr);
          std::_Exit(1);
        }
      } catch (const std::exception&) {
        // The store is gone (rank 0 ended): the collective in progress fails by itself.
      }
    }
  }

  // After a failed collective: which ranks stopped beating (every rank's
  // watcher adds to its counter once a second) or announced their own
  // failure. The finding goes into the store for the ranks still blocked.
  // Without the store, rank 0 (its server) is gone.
  std::string diagnose(const char* what, const std::string& reason) {
    const std::string me = "rank " + std::to_string(launch_.rank) + " of " + std::to_string(launch_.world_size);
    std::string lost, causes;
    try {
      std::vector<int64_t> before(static_cast<size_t>(launch_.world_size));
      for (int r = 0; r < launch_.world_size; ++r) before[static_cast<size_t>(r)] = store_->add(beat_key(r), 0);
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(timeout_, std::chrono::milliseconds(2500)));
      for (int r = 0; r < launch_.world_size; ++r) {
        if (r == launch_.rank) continue;
        if (store_->check({failure_key(r)})) {
          const std::vector<uint8_t> text = store_->get(failure_key(r));
          causes += (causes.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + " stopped: " +
                    std::string(text.begin(), text.end());
        } else if (store_->add(beat_key(r), 0) == before[static_cast<size_t>(r)]) {
          lost += (lost.empty() ? "" : ", ") + std::to_string(r);
        }
      }
    } catch (const std::exception&) {
      if (launch_.agent_store)
        lost = "? (torchrun's rendezvous store is gone)";
      else if (launch_.rank != 0)
        lost = "0 (it held the rendezvous store)";
    }
    std::string finding = std::string(what) + " failed";
    if (!causes.empty())
      finding += " (" + causes + ")";
    else
      finding += (lost.empty() ? "" : " (lost rank " + lost + ")") + std::string(": ") + reason;
    try {
      const std::string told = "rank " + std::to_string(launch_.rank) + " found: " + finding;
      store_->set(abort_key(), std::vector<uint8_t>(told.begin(), told.end()));
      linger_as_store_server();
    } catch (const std::exception&) {
    }
    return me + ": " + finding;
  }

  LaunchEnvironment launch_;
  std::chrono::milliseconds timeout_;
  std::function<void(const std::string&)> end_process_;
  std::string backend_;
  c10::intrusive_ptr<c10d::Store> store_, watch_store_;
  std::thread watcher_;
  std::atomic<bool> stopping_{false}, in_collective_{false}, aborted_{false};
  std::mutex abort_mutex_;
  std::string abort_reason_;
  c10::intrusive_ptr<GroupBase> control_, data_;
};

}  // namespace
#endif

std::unique_ptr<Collectives> make_process_collectives(const LaunchEnvironment& launch,
                                                      const ProcessGroupOptions& options) {
#ifdef SG_HAVE_GLOO
  return std::make_unique<ProcessCollectives>(launch, options);
#else
  (void)options;
  throw std::invalid_argument("launched as rank " + std::to_string(launch.rank) + " of " +
                              std::to_string(launch.world_size) +
                              ", but this build has no c10d Gloo (install libgloo-dev and rebuild)");
#endif
}

}  // namespace sg
