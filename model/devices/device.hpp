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
// the two do not oversubscribe the cores (30% faster at 8x8 here). Also
// calls retain_freed_memory(). Returns the thread count.
int configure_cpu_runtime(int threads);

// Keeps memory that LibTorch frees inside the process (glibc only; elsewhere
// a no-op). glibc hands freed multi-megabyte blocks back to the kernel and
// the next tensor of that size faults every page in again: a training
// iteration allocates and frees its activations and gradients each time,
// and on this VM the faults made a 512-wide iteration at 8x8 24% slower and
// a convolution's weight gradient at 4x4 nine times slower. The process's
// memory stays at its peak instead of following the working set.
void retain_freed_memory();

// Process-wide settings for training on `device`: on CUDA, cuDNN autotuning
// (each convolution shape is timed once, then its fastest algorithm kept;
// the shapes change only when the resolution grows).
void configure_device(const c10::Device& device);

// "cpu", "cuda", or "" (cuda when available). Throws std::invalid_argument
// for cuda on a machine without it.
std::string resolve_device_name(const std::string& requested);
// The same as a device.
c10::Device resolve_device(const std::string& requested);

// What a timing ran on, for printing beside it: the CPU's model name (from
// /proc/cpuinfo) and the intra-op threads, or the CUDA device's index.
std::string device_description(const c10::Device& device);

}  // namespace sg
