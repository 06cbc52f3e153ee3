#pragma once
// encode: each pyramid level becomes one LMDB record value, RAW or PNG
// (the record codec of datasets/record_codec.hpp).
#include "dataset.pb.h"
#include "stages/prep_item.hpp"

namespace sg {

void encode_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
