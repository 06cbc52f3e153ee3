#pragma once
// Runtime choice of device and CPU threads for the LibTorch programs.
#include <string>

namespace c10 {
struct Device;
}

namespace sg {

// torch::set_num_threads(threads, or all cores when <= 0). Debian's LibTorch
// starts with one intra-op thread, and its OpenBLAS would start a pool of
// its own beside LibTorch's OpenMP one: OpenBLAS is pinned to one thread so
// the two do not oversubscribe the cores (30% faster at 8x8 here).
int configure_cpu_threads(int threads);

// "cpu", "cuda", or "" (cuda when available). Throws std::invalid_argument
// for cuda on a machine without it.
std::string resolve_device_name(const std::string& requested);
// The same as a device.
c10::Device resolve_device(const std::string& requested);

}  // namespace sg
