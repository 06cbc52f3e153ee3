// The progressive schedule's arithmetic, against the reference's numbers.
#include <gtest/gtest.h>

#include "model/core/schedule.hpp"

namespace sg {
namespace {

// Runs the schedule to its end; returns iterations per step.
std::vector<uint64_t> iterations_per_step(const ScheduleConfig& c) {
  ScheduleState s = initial_schedule_state(c);
  std::vector<uint64_t> per_step(9, 0);
  for (uint64_t i = 0; i < 10'000'000; ++i) {
    IterationPlan p = begin_iteration(c, s);
    if (p.finished) break;
    ++per_step[p.step];
    end_iteration(s, batch_for(c, 4 << p.step));
  }
  return per_step;
}

TEST(Schedule, SchedTablesAreTheReferences) {
  ScheduleConfig c;
  c.sched = true;
  EXPECT_EQ(batch_for(c, 4), 512);
  EXPECT_EQ(batch_for(c, 8), 256);
  EXPECT_EQ(batch_for(c, 16), 128);
  EXPECT_EQ(batch_for(c, 32), 64);
  EXPECT_EQ(batch_for(c, 64), 32);
  EXPECT_EQ(batch_for(c, 256), 32);
  EXPECT_DOUBLE_EQ(learning_rate_for(c, 64), 0.001);
  EXPECT_DOUBLE_EQ(learning_rate_for(c, 128), 0.0015);
  EXPECT_DOUBLE_EQ(learning_rate_for(c, 256), 0.002);
  EXPECT_DOUBLE_EQ(learning_rate_for(c, 1024), 0.003);
  ScheduleConfig plain;
  plain.lr = 0.0042;  // honoured, unlike the reference's --lr
  plain.batch = 12;
  EXPECT_DOUBLE_EQ(learning_rate_for(plain, 128), 0.0042);
  EXPECT_EQ(batch_for(plain, 8), 12);
}

TEST(Schedule, IterationsPerStageMatchTheReferenceTable) {
  ScheduleConfig c;
  c.sched = true;
  c.max_size = 64;
  auto per_step = iterations_per_step(c);
  // REFERENCE.md §4.3: a stage ends once used_sample > 1.2M.
  EXPECT_EQ(per_step[1], 4688u);   // 8x8 at batch 256
  EXPECT_EQ(per_step[2], 9376u);   // 16x16 at 128
  EXPECT_EQ(per_step[3], 18751u);  // 32x32 at 64
  EXPECT_EQ(per_step[4], 37501u);  // 64x64 at 32, then training ends
  ScheduleConfig plain;
  plain.max_size = 16;
  auto plain_steps = iterations_per_step(plain);
  EXPECT_EQ(plain_steps[1], 37501u);
  EXPECT_EQ(plain_steps[2], 37501u);
}

TEST(Schedule, AlphaIsOneInTheFirstStageThenFadesLinearly) {
  ScheduleConfig c;
  c.phase = 100;
  c.max_size = 32;
  ScheduleState s = initial_schedule_state(c);
  EXPECT_EQ(s.step, 1);
  for (int i = 0; i < 21; ++i) {  // 21 x 10 = 210 > 200 images
    IterationPlan p = begin_iteration(c, s);
    EXPECT_EQ(p.step, 1);
    EXPECT_DOUBLE_EQ(p.alpha, 1.0);
    end_iteration(s, 10);
  }
  IterationPlan grow = begin_iteration(c, s);
  EXPECT_TRUE(grow.grew);
  EXPECT_EQ(grow.step, 2);
  EXPECT_DOUBLE_EQ(grow.alpha, 0.0);
  end_iteration(s, 10);
  IterationPlan next = begin_iteration(c, s);
  EXPECT_DOUBLE_EQ(next.alpha, 11.0 / 100.0);  // (used + 1) / phase
  for (int i = 0; i < 9; ++i) {
    end_iteration(s, 10);
    next = begin_iteration(c, s);
  }
  EXPECT_DOUBLE_EQ(next.alpha, 1.0);  // 101 / 100, capped
  EXPECT_FALSE(next.grew);
}

TEST(Schedule, AResumedFirstStageFadesIn) {
  ScheduleConfig c;
  c.phase = 100;
  c.init_size = 16;
  ScheduleState s = initial_schedule_state(c);
  s.first_stage_without_fade = false;  // as a run resumed into a new stage
  IterationPlan p = begin_iteration(c, s);
  EXPECT_DOUBLE_EQ(p.alpha, 0.01);
  EXPECT_EQ(images_to_next_growth(c, s), 201u);
}

TEST(Schedule, FinishesAfterTheLargestSizesPhase) {
  ScheduleConfig c;
  c.phase = 50;
  c.init_size = 8;
  c.max_size = 8;
  ScheduleState s = initial_schedule_state(c);
  int iterations = 0;
  while (!begin_iteration(c, s).finished) {
    end_iteration(s, 10);
    ++iterations;
  }
  EXPECT_EQ(iterations, 11);  // 110 > 100 images
}

}  // namespace
}  // namespace sg
