#include "model/devices/flop_count.hpp"

#include <ATen/record_function.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

#include "model/devices/device.hpp"

namespace sg {

struct FlopCounter::State {
  std::atomic<double> flops{0};
};

namespace {

std::shared_ptr<FlopCounter::State> active_state;
std::mutex active_mutex;
thread_local int counted_depth = 0;

struct Marker : at::ObserverContext {
  bool counted = false;
};

double product(at::IntArrayRef sizes, size_t from = 0) {
  double p = 1;
  for (size_t i = from; i < sizes.size(); ++i) p *= static_cast<double>(sizes[i]);
  return p;
}

// Output spatial sizes of a (non-transposed) convolution.
std::vector<int64_t> conv_output(at::IntArrayRef input, at::IntArrayRef weight, at::IntArrayRef stride,
                                 at::IntArrayRef padding, at::IntArrayRef dilation) {
  std::vector<int64_t> out{input[0], weight[0]};
  for (size_t d = 2; d < input.size(); ++d) {
    const size_t k = d - 2;
    const int64_t s = stride.size() > k ? stride[k] : stride[0];
    const int64_t p = padding.size() > k ? padding[k] : padding[0];
    const int64_t dl = dilation.size() > k ? dilation[k] : dilation[0];
    out.push_back((input[d] + 2 * p - dl * (weight[d] - 1) - 1) / s + 1);
  }
  return out;
}

double flops_of(const at::RecordFunction& fn) {
  const std::string_view name = fn.name();
  const auto inputs = fn.inputs();
  auto sizes = [&](size_t i) { return inputs[i].toTensor().sizes(); };
  auto is_tensor = [&](size_t i) { return inputs.size() > i && inputs[i].isTensor(); };
  if (name == "aten::convolution" && is_tensor(0) && is_tensor(1) && inputs.size() >= 9) {
    const bool transposed = inputs[6].toBool();
    const auto input = sizes(0), weight = sizes(1);
    if (transposed) return convolution_flops(input, weight, {}, true);
    const auto output = conv_output(input, weight, inputs[3].toIntVector(), inputs[4].toIntVector(),
                                    inputs[5].toIntVector());
    return convolution_flops(input, weight, output, false);
  }
  if (name == "aten::convolution_backward" && is_tensor(0) && is_tensor(1) && is_tensor(2) && inputs.size() >= 11) {
    const auto mask = inputs[10].toBoolList();
    const bool transposed = inputs[7].toBool();
    const double forward = convolution_flops(sizes(1), sizes(2), sizes(0), transposed);
    return forward * ((mask.size() > 0 && mask[0]) + (mask.size() > 1 && mask[1]));
  }
  if ((name == "aten::mm" && is_tensor(0) && is_tensor(1)) ||
      ((name == "aten::addmm") && is_tensor(1) && is_tensor(2))) {
    const auto a = name == "aten::mm" ? sizes(0) : sizes(1), b = name == "aten::mm" ? sizes(1) : sizes(2);
    return 2.0 * a[0] * a[1] * b[1];
  }
  if ((name == "aten::bmm" && is_tensor(0) && is_tensor(1)) || (name == "aten::baddbmm" && is_tensor(1) && is_tensor(2))) {
    const auto a = name == "aten::bmm" ? sizes(0) : sizes(1), b = name == "aten::bmm" ? sizes(1) : sizes(2);
    return 2.0 * a[0] * a[1] * a[2] * b[2];
  }
  return -1;  // not an operation counted here
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  auto marker = std::make_unique<Marker>();
  if (counted_depth > 0) return marker;
  std::shared_ptr<FlopCounter::State> state;
  {
    std::lock_guard<std::mutex> lock(active_mutex);
    state = active_state;
  }
  if (!state) return marker;
  const double flops = flops_of(fn);
  if (flops < 0) return marker;
  double current = state->flops.load();
  while (!state->flops.compare_exchange_weak(current, current + flops)) {
  }
  marker->counted = true;
  ++counted_depth;
  return marker;
}

void on_end(const at::RecordFunction&, at::ObserverContext* observed) {
  if (observed && static_cast<Marker*>(observed)->counted) --counted_depth;
}

}  // namespace

double convolution_flops(at::IntArrayRef input, at::IntArrayRef weight, at::IntArrayRef output, bool transposed) {
  if (input.size() < 3 || weight.size() < 3) return 0;
  // Each output element of a plain convolution takes c/groups x kernel
  // multiply-adds (weight[1] x kernel); each input element of a transposed
  // one contributes c_out/groups x kernel (weight[1] x kernel as well).
  const double per_element = product(weight, 1);
  if (transposed) return 2.0 * product(input) * per_element;
  return 2.0 * product(output) * per_element;
}

FlopCounter::FlopCounter() : state_(std::make_shared<State>()) {
  {
    std::lock_guard<std::mutex> lock(active_mutex);
    active_state = state_;
  }
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end).needsInputs(true));
  active_ = true;
}

FlopCounter::~FlopCounter() { stop(); }

void FlopCounter::stop() {
  if (!active_) return;
  at::removeCallback(handle_);
  std::lock_guard<std::mutex> lock(active_mutex);
  active_state.reset();
  active_ = false;
}

double FlopCounter::flops() const { return state_->flops.load(); }

namespace {

double time_gflops(const std::function<void()>& work, double flops, const torch::Device& device, double seconds) {
  work();  // warm-up
  if (device.is_cuda()) torch::cuda::synchronize();
  double best = 0, spent = 0;
  while (spent < seconds) {
    const auto start = std::chrono::steady_clock::now();
    work();
    if (device.is_cuda()) torch::cuda::synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spent += s;
    best = std::max(best, flops / s / 1e9);
  }
  return best;
}

}  // namespace

MeasuredPeak measure_peak(const torch::Device& device, torch::ScalarType dtype, double seconds) {
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  MeasuredPeak peak;
  const int64_t n = 2048;
  const torch::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  peak.matmul_gflops = time_gflops([&] { torch::mm(a, b); }, 2.0 * n * n * n, device, seconds);
  const torch::Tensor x = torch::randn({16, 512, 16, 16}, options), w = torch::randn({512, 512, 3, 3}, options);
  const double conv = 2.0 * 16 * 512 * 16 * 16 * 512 * 9;
  peak.conv_gflops = time_gflops([&] { torch::conv2d(x, w, {}, 1, 1); }, conv, device, seconds);
  return peak;
}

std::string describe_peak(const torch::Device& device, torch::ScalarType dtype, const MeasuredPeak& peak) {
  char line[160];
  std::snprintf(line, sizeof line, "; peak measured now: %s matmul 2048^2 %.0f GFLOP/s, conv 3x3 512ch 16^2 %.0f GFLOP/s",
                dtype == torch::kBFloat16 ? "bf16" : "fp32", peak.matmul_gflops, peak.conv_gflops);
  return device_description(device) + line;
}

}  // namespace sg
