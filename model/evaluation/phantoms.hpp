#pragma once
// Synthetic head phantoms: a skull ring, brain tissue with smooth texture,
// dark ventricles, each image with its own shape and contrast. Data for the
// evaluation benchmark and tests, where no scans may be downloaded.
#include <torch/torch.h>

#include <cstdint>

namespace sg {

// uint8 [n, channels, size, size]; the same seed gives the same images.
torch::Tensor synthetic_phantoms(int64_t n, int size, uint64_t seed, int channels = 1);

}  // namespace sg
