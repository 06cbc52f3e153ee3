#include "common/tool_version.hpp"

#include <ctime>

#include "sg_version.h"

namespace sg {

std::string tool_version() { return SG_TOOL_VERSION; }

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace sg
