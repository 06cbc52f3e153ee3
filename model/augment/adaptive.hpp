#pragma once
// ADA's controller (Karras et al. 2020, 3.2): p follows how sure D is of the
// training images. r_t = E[sign(D(real))] over the last `every` images; p
// moves by sign(r_t - target) x (those images) / `length`, so that it can
// cross [0, 1] in `length` images, and stays in [0, 1).
#include <cstdint>
#include <optional>
#include <string>

namespace sg {

struct AugmentSettings {
  bool enabled = false;
  std::optional<double> fixed_p;  // --augment_p: p never moves
  double target = 0.6;            // --ada_target
  double length = 500000;         // --ada_length, images
  int64_t every = 256;            // --ada_every, images between adjustments
};

// Where the controller stands; checkpointed for exact resume.
struct AugmentState {
  double p = 0;
  double r_t = 0;          // the last adjustment's overfitting measure
  double sign_sum = 0;     // sum of sign(D(real)) since it
  int64_t images = 0;      // images D judged since it
};

// The largest p: just below 1 (at 1 every image would take every transform).
double max_augment_probability();

// Adds `count` judgements whose signs sum to `sign_sum`; once `every`
// images have gathered, sets r_t and moves p (unless fixed). Returns
// whether it adjusted.
bool observe_real_signs(AugmentState& state, double sign_sum, int64_t count, const AugmentSettings& settings);

// "--augment_p must be in [0, 1)" and the like; "" when all is well.
std::string check_augment_settings(const AugmentSettings& settings);

}  // namespace sg
