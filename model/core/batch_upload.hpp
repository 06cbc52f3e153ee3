#pragma once
// Moving a decoded batch onto the training device.
#include <torch/torch.h>

#include "datasets/batch_stream.hpp"

namespace sg {

// The batch as an NCHW float tensor on `device` (a copy; the batch may go).
// On CUDA the pixels pass through pinned host memory and a non-blocking
// copy: the host goes on queueing the step, which the stream orders behind
// the copy, and the caching host allocator keeps the pinned block until the
// copy has run. With channels_last the tensor is laid out NHWC.
torch::Tensor upload_batch(const Batch& batch, const torch::Device& device, bool channels_last = false);
// The batch's class labels [count] as int64 on `device`.
torch::Tensor upload_labels(const Batch& batch, const torch::Device& device);

}  // namespace sg
