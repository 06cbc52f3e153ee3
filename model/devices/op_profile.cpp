#include "model/devices/op_profile.hpp"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <unordered_map>

namespace sg {

struct OpProfile::State {
  std::mutex mutex;
  std::unordered_map<std::string, OpProfileEntry> entries;
  int64_t top_level_calls = 0;
  double top_level_ms = 0;
};

namespace {

// One profile at a time: the callbacks are plain functions.
std::shared_ptr<OpProfile::State> active_state;
thread_local int nesting = 0;

struct Started : at::ObserverContext {
  std::chrono::steady_clock::time_point start;
  bool top_level = false;
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction&) {
  auto context = std::make_unique<Started>();
  context->top_level = nesting++ == 0;
  context->start = std::chrono::steady_clock::now();
  return context;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* observed) {
  const auto end = std::chrono::steady_clock::now();
  --nesting;
  auto* context = static_cast<Started*>(observed);
  auto state = active_state;
  if (!context || !state) return;
  const double ms = std::chrono::duration<double, std::milli>(end - context->start).count();
  std::lock_guard<std::mutex> lock(state->mutex);
  auto& entry = state->entries[fn.name()];
  ++entry.calls;
  entry.host_ms += ms;
  if (context->top_level) {
    ++entry.top_level_calls;
    ++state->top_level_calls;
    state->top_level_ms += ms;
  }
}

}  // namespace

OpProfile::OpProfile() : state_(std::make_shared<State>()) {
  active_state = state_;
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end).needsInputs(false));
  active_ = true;
}

OpProfile::~OpProfile() { stop(); }

void OpProfile::stop() {
  if (!active_) return;
  at::removeCallback(handle_);
  active_state.reset();
  active_ = false;
}

std::vector<OpProfileEntry> OpProfile::entries() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<OpProfileEntry> out;
  for (const auto& [name, entry] : state_->entries) {
    out.push_back(entry);
    out.back().name = name;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.host_ms > b.host_ms; });
  return out;
}

int64_t OpProfile::top_level_calls() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->top_level_calls;
}

double OpProfile::top_level_host_ms() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->top_level_ms;
}

}  // namespace sg
