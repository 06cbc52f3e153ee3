#pragma once
// A readable account of a StyleGAN's size: totals and per-block counts.
#include <string>

#include "model/stylegan/networks.hpp"

namespace sg::stylegan {

std::string model_summary(const StyleGanConfig& config);

// 30034338 -> "30,034,338".
std::string with_commas(int64_t n);

}  // namespace sg::stylegan
