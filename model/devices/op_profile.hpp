#pragma once
// Where a training iteration's host time goes, operator by operator: while
// an OpProfile lives, every ATen operator dispatched on any thread (the
// autograd engine's included) is counted with the host time from its start
// to its end. On a CPU that is the operator's work; on CUDA it is the cost
// of issuing its kernels, which bounds the small resolutions.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sg {

struct OpProfileEntry {
  std::string name;
  int64_t calls = 0;
  double host_ms = 0;       // inclusive: nested operators count in their caller too
  int64_t top_level_calls = 0;  // calls not nested in another operator
};

class OpProfile {
 public:
  OpProfile();
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // Stops counting (also done at destruction).
  void stop();
  // Every operator seen, by host time, longest first.
  std::vector<OpProfileEntry> entries() const;
  int64_t top_level_calls() const;
  double top_level_host_ms() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  uint64_t handle_ = 0;
  bool active_ = false;
};

}  // namespace sg
