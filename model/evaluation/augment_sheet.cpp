#include "model/evaluation/augment_sheet.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

#include "common/errors.hpp"
#include "common/images/image_grid.hpp"
#include "datasets/lmdb_keys.hpp"
#include "datasets/lmdb_reader.hpp"
#include "datasets/record_codec.hpp"
#include "model/augment/adaptive.hpp"
#include "model/augment/pipeline.hpp"
#include "model/core/drawing.hpp"

namespace sg {

Image8 augment_sheet(const std::string& lmdb, const AugmentSheetOptions& o) {
  if (!(o.p >= 0 && o.p < 1)) throw std::invalid_argument("the augmentation probability must be in [0, 1)");
  LmdbReader reader(lmdb);
  const std::vector<int> sizes = reader.sizes();
  if (sizes.empty()) throw InputError(lmdb, "the LMDB holds no records");
  const int size = o.size > 0 ? o.size : sizes.back();
  if (std::find(sizes.begin(), sizes.end(), size) == sizes.end())
    throw InputError(lmdb, "holds no " + std::to_string(size) + "x" + std::to_string(size) + " records");
  const uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(std::max(1, o.count)), reader.length(TRAIN));
  if (n == 0) throw InputError(lmdb, "the training split is empty");
  const int channels = reader.channels();

  auto batch = torch::empty({static_cast<int64_t>(n), size, size, channels}, torch::kUInt8);
  std::vector<Image8> originals;
  for (uint64_t i = 0; i < n; ++i) {
    originals.push_back(decode_record(reader.record(TRAIN, size, i), reader.encoding(), size, channels, record_key(size, i)));
    std::memcpy(batch[static_cast<int64_t>(i)].data_ptr<uint8_t>(), originals.back().pixels.data(),
                originals.back().pixels.size());
  }
  const auto images = batch.permute({0, 3, 1, 2}).to(torch::kFloat).div(127.5).sub(1);
  std::mt19937_64 rng(o.seed);
  const std::vector<Image8> augmented = tensor_to_images(augment(images, o.p, rng));
  std::vector<Image8> pairs;
  for (uint64_t i = 0; i < n; ++i) {
    pairs.push_back(originals[i]);
    pairs.push_back(augmented[i]);
  }
  return make_grid(pairs, 2 * std::max(1, o.columns));
}

}  // namespace sg
