#pragma once
// Independent items spread over the threads --threads allows (LibTorch's
// intra-op thread count), through oneTBB. ATen's own parallel_for is an
// OpenMP pragma in a header: serial in code built without -fopenmp.
// Bodies should not call LibTorch operators that parallelise themselves.
#include <ATen/Parallel.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>

namespace sg {

template <typename Body>
void parallel_items(int64_t count, const Body& body) {
  tbb::task_arena arena(std::max(1, at::get_num_threads()));
  arena.execute([&] { tbb::parallel_for(int64_t{0}, count, [&](int64_t i) { body(i); }); });
}

}  // namespace sg
