#include "model/augment/adaptive.hpp"

#include <algorithm>
#include <cmath>

namespace sg {

double max_augment_probability() { return std::nextafter(1.0, 0.0); }

bool observe_real_signs(AugmentState& state, double sign_sum, int64_t count, const AugmentSettings& settings) {
  state.sign_sum += sign_sum;
  state.images += count;
  if (state.images < std::max<int64_t>(1, settings.every)) return false;
  state.r_t = state.sign_sum / static_cast<double>(state.images);
  if (settings.fixed_p) {
    state.p = *settings.fixed_p;
  } else {
    const double direction = (state.r_t > settings.target) - (state.r_t < settings.target);
    state.p += direction * static_cast<double>(state.images) / settings.length;
    state.p = std::clamp(state.p, 0.0, max_augment_probability());
  }
  state.sign_sum = 0;
  state.images = 0;
  return true;
}

std::string check_augment_settings(const AugmentSettings& s) {
  if (s.fixed_p && !(*s.fixed_p >= 0 && *s.fixed_p < 1)) return "--augment_p must be in [0, 1)";
  if (!(s.target > -1 && s.target < 1)) return "--ada_target must be between -1 and 1 (E[sign D(real)])";
  if (!(s.length > 0)) return "--ada_length must be a positive number of images";
  if (s.every < 1) return "--ada_every must be at least 1 image";
  return "";
}

}  // namespace sg
