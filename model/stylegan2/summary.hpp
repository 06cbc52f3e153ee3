#pragma once
// A readable account of a StyleGAN2's size: totals and per-resolution counts.
#include <string>

#include "model/stylegan2/networks.hpp"

namespace sg::stylegan2 {

std::string model_summary(const Config& config);

}  // namespace sg::stylegan2
