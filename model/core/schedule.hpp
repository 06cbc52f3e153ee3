#pragma once
// Progressive growing as rosinality's train.py schedules it (REFERENCE.md
// §4.3), in pure arithmetic: images seen per stage, alpha, growth, and the
// --sched learning-rate and batch tables.
#include <cstdint>

namespace sg {

// step <-> resolution: res = 4 * 2^step. step_for_size throws
// std::invalid_argument for a size that is not 4 * 2^k.
int step_for_size(int size);
inline int size_for_step(int step) { return 4 << step; }

struct ScheduleConfig {
  int init_size = 8;
  int max_size = 256;
  uint64_t phase = 600000;  // images of fade-in, then as many at alpha 1
  bool sched = false;       // the reference's per-resolution tables
  double lr = 0.001;        // without sched
  int batch = 32;           // without sched
  // Off: one fixed resolution (max_size) at alpha 1 from the first
  // iteration, never growing nor finishing (StyleGAN2; --max_iter ends it).
  bool progressive = true;
};

struct ScheduleState {
  int step = 1;              // resolution 4 * 2^step
  uint64_t used_sample = 0;  // images seen in the current stage
  // A fresh run trains its first stage at alpha 1 throughout; a run resumed
  // into a new stage fades in as any other stage.
  bool first_stage_without_fade = true;
  bool finished = false;
};

struct IterationPlan {
  int step = 1;
  double alpha = 1.0;
  bool grew = false;      // this iteration starts a new resolution
  bool finished = false;  // the largest size has had its phase: stop
};

ScheduleState initial_schedule_state(const ScheduleConfig& config);

// The start of an iteration: alpha from the images seen so far, and growth
// once a stage has seen more than 2 * phase images (then alpha is 0).
IterationPlan begin_iteration(const ScheduleConfig& config, ScheduleState& state);
// The end of an iteration that trained on `batch` real images.
void end_iteration(ScheduleState& state, int batch);

// --sched: {128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003}, else 0.001;
// without it, config.lr at every size.
double learning_rate_for(const ScheduleConfig& config, int size);
// --sched: {4: 512, 8: 256, 16: 128, 32: 64, 64..256: 32}, else 32; without
// it, config.batch.
int batch_for(const ScheduleConfig& config, int size);

// Images until the current stage grows (or training ends).
uint64_t images_to_next_growth(const ScheduleConfig& config, const ScheduleState& state);

}  // namespace sg
