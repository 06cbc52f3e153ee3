#pragma once
#include <string_view>

namespace sg {

// Matches a '/'-separated path against a glob: '*' any run within a folder,
// '**' any run across folders ('**/' also matches no folder at all), '?' one
// character other than '/', '[abc]' / '[a-z]' / '[!x]' one of a set.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace sg
