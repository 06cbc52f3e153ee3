#include "model/devices/device.hpp"

#include <fstream>

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <torch/torch.h>

#include <limits>
#include <stdexcept>
#include <thread>

namespace sg {

void retain_freed_memory() {
#if defined(__GLIBC__)
  // Every block from the heap (threads' own arenas still map what does not
  // fit one), and the heap never trimmed.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

int configure_cpu_runtime(int threads) {
  retain_freed_memory();
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(1);
  return threads;
}

void configure_device(const c10::Device& device) {
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

std::string resolve_device_name(const std::string& requested) {
  if (requested.empty()) return torch::cuda::is_available() ? "cuda" : "cpu";
  if (requested == "cuda" && !torch::cuda::is_available())
    throw std::invalid_argument("--device cuda, but no CUDA device is available to this LibTorch");
  if (requested != "cpu" && requested != "cuda") throw std::invalid_argument("unknown device '" + requested + "'");
  return requested;
}

c10::Device resolve_device(const std::string& requested) {
  return resolve_device_name(requested) == "cuda" ? torch::kCUDA : torch::kCPU;
}

std::string device_description(const c10::Device& device) {
  if (device.is_cuda()) return "CUDA device " + std::to_string(static_cast<int>(device.index()));
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  return model + ", " + std::to_string(at::get_num_threads()) + " threads";
}

}  // namespace sg
