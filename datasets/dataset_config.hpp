#pragma once
// Loading and checking dataset configs (configs/*.textproto).
#include <string>

#include "dataset.pb.h"

namespace sg {

// Parses a text-format DatasetConfig. Unknown fields, syntax errors and bad
// values throw ConfigError with "file:line: field: reason".
DatasetConfig load_dataset_config(const std::string& path);
DatasetConfig parse_dataset_config(const std::string& text, const std::string& display_name);

}  // namespace sg
