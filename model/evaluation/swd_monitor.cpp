#include "model/evaluation/swd_monitor.hpp"

#include "datasets/lmdb_reader.hpp"
#include "model/evaluation/image_set.hpp"

namespace sg {

SwdMonitor::SwdMonitor(const LmdbReader& reader, int images, uint64_t seed)
    : reader_(reader), images_(images), seed_(seed) {
  options_.seed = seed;
}

std::optional<SwdResult> SwdMonitor::measure(const SeededDrawer& draw, int size) {
  const std::vector<int> resolutions = swd_resolutions(size, options_.min_resolution);
  if (resolutions.empty()) return std::nullopt;
  const int levels = static_cast<int>(resolutions.size());
  auto cached = real_.find(size);
  if (cached == real_.end()) {
    const auto indexes = pick_indexes(reader_.length(TRAIN), static_cast<uint64_t>(images_), seed_ + 2);
    const auto real = read_lmdb_images(reader_, TRAIN, size, indexes);
    cached = real_.emplace(size, patch_descriptors(real, levels, options_, seed_ * 2 + 1)).first;
  }
  const int64_t count = cached->second[0].size(0) / options_.patches_per_image;  // real images sampled
  torch::Generator rng = at::detail::createCPUGenerator(seed_ + 4);
  const auto fake = draw(count, rng);
  // The trainer builds the generator with the LMDB's channel count.
  const int channels = static_cast<int>(fake.size(1));
  return swd_from_descriptors(patch_descriptors(fake, levels, options_, seed_ * 2 + 2), cached->second, channels,
                              resolutions, options_);
}

}  // namespace sg
