#pragma once
// What made a file: the tool's version and the git commit it was built
// from, and the time, for dataset cards and reports.
#include <string>

namespace sg {

// "stylegan-cpp 0.1.0 (git 1a2b3c4d5e)", "..., with uncommitted changes)"
// for a modified tree, or without the commit outside a git checkout.
std::string tool_version();

// The current time in UTC as ISO 8601, to the second ("2026-12-06T21:52:04Z").
std::string utc_timestamp();

}  // namespace sg
