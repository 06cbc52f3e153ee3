#include "model/training/gan_factory.hpp"

#include "model/stylegan/sampling.hpp"
#include "model/stylegan/trainable_stylegan.hpp"
#include "model/stylegan2/sampling.hpp"
#include "model/stylegan2/trainable_stylegan2.hpp"

namespace sg {

std::unique_ptr<TrainableGan> make_gan(const GanSpec& spec, torch::Device device) {
  if (spec.arch == Architecture::StyleGan2) {
    stylegan2::Training t;
    t.model = stylegan2::config_from(spec.model, spec.model.max_size, spec.channel_multiplier);
    t.model.d_max_channels = spec.d_channels;
    t.saved.lr = spec.lr;
    t.saved.batch = spec.batch;
    t.saved.loss = spec.loss == GanLoss::R1 ? stylegan2::Loss::LogisticR1 : stylegan2::Loss::WganGp;
    t.saved.regularization = spec.regularization;
    t.saved.regularization.r1 = spec.r1_gamma;
    t.saved.mixing = spec.mixing ? 0.9 : 0.0;
    t.precision = spec.precision;
    t.ema = spec.ema;
    t.model.classes = static_cast<int>(spec.class_names.size());
    t.saved.class_names = spec.class_names;
    t.class_weights = spec.class_weights;
    return stylegan2::make_stylegan2(t, device);
  }
  // Field by field: each architecture keeps its own settings type in its
  // own folder, below this factory.
  if (spec.d_channels != 0) throw std::invalid_argument("a discriminator width of its own (--d_channels) needs --arch stylegan2");
  if (!spec.class_names.empty()) throw std::invalid_argument("StyleGAN (progressive) does not train conditionally: use --arch stylegan2");
  stylegan::StyleGanTraining t;
  t.model = spec.model;
  t.lr = spec.lr;
  t.loss = spec.loss;
  t.r1_gamma = spec.r1_gamma;
  t.mixing = spec.mixing;
  t.ema = spec.ema;
  t.precision = spec.precision;
  return stylegan::make_stylegan(t, device);
}

std::unique_ptr<CheckpointDrawer> open_checkpoint(const std::string& checkpoint, const DrawRequest& request) {
  if (checkpoint_architecture(checkpoint) == Architecture::StyleGan2)
    return stylegan2::open_for_drawing(checkpoint, request);
  return stylegan::open_for_drawing(checkpoint, request);
}

}  // namespace sg
