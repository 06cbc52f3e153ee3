#include "model/core/schedule.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace sg {

namespace {

int log2_step(int size) {
  int step = 0;
  while ((4 << step) < size) ++step;
  return step;
}

}  // namespace

int step_for_size(int size) {
  const int step = log2_step(size);
  if ((4 << step) != size) throw std::invalid_argument("size " + std::to_string(size) + " is not 4 * 2^k");
  return step;
}

ScheduleState initial_schedule_state(const ScheduleConfig& config) {
  ScheduleState state;
  state.step = log2_step(config.progressive ? config.init_size : config.max_size);
  return state;
}

IterationPlan begin_iteration(const ScheduleConfig& config, ScheduleState& state) {
  IterationPlan plan;
  const int max_step = log2_step(config.max_size);
  if (!config.progressive) {
    state.step = plan.step = max_step;
    return plan;  // alpha 1, no growth, no end
  }
  plan.alpha = std::min(1.0, static_cast<double>(state.used_sample + 1) / static_cast<double>(config.phase));
  if (state.first_stage_without_fade && state.step == log2_step(config.init_size)) plan.alpha = 1.0;
  if (state.used_sample > 2 * config.phase) {
    if (state.step >= max_step) {
      state.finished = true;
    } else {
      state.used_sample = 0;
      ++state.step;
      state.first_stage_without_fade = false;
      plan.alpha = 0.0;
      plan.grew = true;
    }
  }
  plan.step = state.step;
  plan.finished = state.finished;
  return plan;
}

void end_iteration(ScheduleState& state, int batch) { state.used_sample += static_cast<uint64_t>(batch); }

double learning_rate_for(const ScheduleConfig& config, int size) {
  if (!config.sched) return config.lr;
  switch (size) {
    case 128: return 0.0015;
    case 256: return 0.002;
    case 512: case 1024: return 0.003;
    default: return 0.001;
  }
}

int batch_for(const ScheduleConfig& config, int size) {
  if (!config.sched) return config.batch;
  switch (size) {
    case 4: return 512;
    case 8: return 256;
    case 16: return 128;
    case 32: return 64;
    default: return 32;
  }
}

uint64_t images_to_next_growth(const ScheduleConfig& config, const ScheduleState& state) {
  if (!config.progressive) return 0;
  const uint64_t end = 2 * config.phase + 1;
  return state.used_sample >= end ? 0 : end - state.used_sample;
}

}  // namespace sg
