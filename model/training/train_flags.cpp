#include "model/training/train_flags.hpp"

#include <stdexcept>

namespace sg {

namespace {

void refuse_unless(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

void apply_train_flags(const TrainFlagChoices& c, TrainOptions& o) {
  if (c.was_given("--augment_p")) o.augment.fixed_p = c.augment_p;
  if (!o.augment.enabled)
    for (const char* flag : {"--augment_p", "--ada_target", "--ada_length", "--ada_every"})
      refuse_unless(!c.was_given(flag), std::string(flag) + " needs --augment");

  o.arch = c.arch == "stylegan2" ? Architecture::StyleGan2 : Architecture::StyleGan;
  if (o.arch == Architecture::StyleGan2) {
    for (const char* flag : {"--sched", "--init_size", "--phase", "--max_size", "--ema", "--ema_decay", "--ema_rampup"})
      refuse_unless(!c.was_given(flag),
                    std::string(flag) + " is a progressive StyleGAN flag; --arch stylegan2 trains one --size");
    refuse_unless(c.precision.empty() || c.precision == "fp32", "--precision " + c.precision +
                                                                    ": --arch stylegan2 trains in fp32 only");
    if (c.size > 0) o.schedule.max_size = c.size;
  } else {
    for (const char* flag : {"--size", "--channel_multiplier", "--path_regularize", "--d_reg_every", "--g_reg_every",
                             "--path_batch_shrink"})
      refuse_unless(!c.was_given(flag), std::string(flag) + " needs --arch stylegan2");
    if (c.was_given("--init_size") && o.schedule.max_size > 0)
      refuse_unless(o.schedule.init_size <= o.schedule.max_size,
                    "--init_size " + std::to_string(o.schedule.init_size) + " is larger than --max_size " +
                        std::to_string(o.schedule.max_size));
  }

  // StyleGAN2's train.py: logistic loss with lazy R1, lr 0.002.
  const bool v2 = o.arch == Architecture::StyleGan2;
  o.loss = c.was_given("--loss") ? (c.loss == "r1" ? GanLoss::R1 : GanLoss::WganGp) : (v2 ? GanLoss::R1 : GanLoss::WganGp);
  if (v2 && !c.was_given("--lr")) o.schedule.lr = 0.002;
  if (c.ema == "reference") o.ema.rampup = 0;
  o.init_size_given = c.was_given("--init_size");
  o.mirror = !c.no_mirror;
}

}  // namespace sg
