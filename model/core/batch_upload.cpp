#include "model/core/batch_upload.hpp"

namespace sg {

torch::Tensor upload_batch(const Batch& batch, const torch::Device& device, bool channels_last) {
  const std::vector<int64_t> shape{batch.count, batch.channels, batch.size, batch.size};
  auto pixels = torch::from_blob(const_cast<float*>(batch.pixels.data()), shape);
  torch::Tensor uploaded;
  if (device.is_cuda()) {
    auto pinned = torch::empty(shape, torch::TensorOptions().pinned_memory(true));
    pinned.copy_(pixels);
    uploaded = pinned.to(device, /*non_blocking=*/true);
  } else {
    uploaded = pixels.clone();
  }
  return channels_last ? uploaded.contiguous(torch::MemoryFormat::ChannelsLast) : uploaded;
}

torch::Tensor upload_labels(const Batch& batch, const torch::Device& device) {
  const auto labels = torch::tensor(batch.labels, torch::kLong);
  return device.is_cuda() ? labels.to(device) : labels;
}

}  // namespace sg
