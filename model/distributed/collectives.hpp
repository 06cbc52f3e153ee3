#pragma once
// The few collective operations training across processes needs, behind an
// interface: c10d's process groups (make_process_collectives) in sg_train,
// an in-process stand-in in the tests' oracle.
#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/distributed/launch.hpp"

namespace sg {

// A peer was lost, timed out or the group could not form: says which rank
// and why, in one line.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Each tensor (on the training device) summed across ranks, in place;
  // every rank ends with the same bits.
  virtual void sum(std::vector<at::Tensor>& tensors) = 0;
  // Each tensor replaced by rank 0's.
  virtual void broadcast(std::vector<at::Tensor>& tensors) = 0;
  // The element-wise maximum over ranks of small host values (stop flags,
  // digests): on the CPU whatever the training device.
  virtual std::vector<int64_t> max(const std::vector<int64_t>& values) = 0;
  // Tells the other ranks why this one is about to stop (best effort), so
  // their error names the cause rather than a lost connection.
  virtual void announce_failure(const std::string& reason) { (void)reason; }
};

struct ProcessGroupOptions {
  std::string backend;  // "gloo", "nccl"; "": NCCL when training on CUDA, Gloo otherwise
  bool cuda = false;    // the training device
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  // When another rank has found the world broken while this one is blocked
  // in a collective (waiting on a live peer that will never send): called
  // with the one-line reason from a watcher thread; it must end the process
  // (default: the reason on stderr, exit status 1). A rank not blocked gets
  // DistributedError from its next collective instead.
  std::function<void(const std::string&)> end_process;
};

// Joins the launch's world through c10d: a TCPStore at MASTER_ADDR:PORT
// (served by rank 0), a Gloo or NCCL group for the training tensors, and a
// Gloo group for host values. Throws DistributedError when the group cannot
// form within the timeout, std::invalid_argument for a backend this build or
// device lacks.
std::unique_ptr<Collectives> make_process_collectives(const LaunchEnvironment& launch,
                                                      const ProcessGroupOptions& options);

// Whether this build has c10d's Gloo (and NCCL) process groups.
bool have_gloo();
bool have_nccl();

}  // namespace sg
