#include "stages/encode.hpp"

#include "datasets/record_codec.hpp"

namespace sg {

void encode_stage(PrepItem& item, const DatasetConfig& config) {
  item.records.clear();
  item.records.reserve(item.pyramids.size());
  for (const auto& levels : item.pyramids) {
    std::vector<std::string> encoded;
    encoded.reserve(levels.size());
    for (const Image8& level : levels)
      encoded.push_back(encode_record(level, config.encoding(), config.channels(), config.png_compression()));
    item.records.push_back(std::move(encoded));
  }
  item.pyramids.clear();
}

}  // namespace sg
