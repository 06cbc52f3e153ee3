#pragma once
// The two pieces of JSON our reports write by hand: a string, quoted and
// escaped, and a number (null where it is not finite: JSON has no NaN).
#include <string>

namespace sg {

std::string json_string(const std::string& text);
// %.6g, or null for NaN and infinities.
std::string json_number(double value);

}  // namespace sg
