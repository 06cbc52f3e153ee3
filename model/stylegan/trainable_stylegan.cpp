#include "model/stylegan/trainable_stylegan.hpp"

#include "model/stylegan/checkpoint.hpp"
#include "model/stylegan/sampling.hpp"

namespace sg::stylegan {

namespace {

class StyleGan final : public TrainableGan {
 public:
  StyleGan(const StyleGanTraining& training, torch::Device device)
      : training_(training), models_(make_step_models(training.model, training.lr, device)) {}

  std::vector<std::string> extra_scalar_names() const override { return {}; }
  int style_dim() const override { return training_.model.style_dim; }

  void set_learning_rate(double lr) override {
    stylegan::set_learning_rate(*models_.g_optimizer, lr, true);
    stylegan::set_learning_rate(*models_.d_optimizer, lr, false);
  }

  void to_channels_last() override { stylegan::to_channels_last(models_); }

  IterationScalars train_iteration(const torch::Tensor& real, const torch::Tensor& labels, int64_t images, int step,
                                   double alpha, TrainPosition& position, std::mt19937_64& rng) override {
    // The progressive networks take no class (sg_train refuses --cond for them first).
    if (labels.defined()) throw std::invalid_argument("StyleGAN (progressive) does not train conditionally");
    StepSettings settings;
    settings.step = step;
    settings.alpha = alpha;
    settings.loss = training_.loss;
    settings.r1_gamma = training_.r1_gamma;
    settings.mixing = training_.mixing;
    settings.precision = training_.precision;
    settings.augment_p = position.augment.p;
    settings.average_gradients = hooks_.average_gradients;
    const auto count = static_cast<uint64_t>(images);
    // A step past the blocks the networks have wrote past block_images
    // (sg_train --init_size 64 --max_size 16: heap corruption); the trainer
    // refuses such sizes first, this keeps any other caller from it.
    if (step < 0 || static_cast<size_t>(step) >= position.block_images.size())
      throw std::out_of_range("training step " + std::to_string(step) + " of a model with " +
                              std::to_string(position.block_images.size()) + " blocks");
    for (int i = 0; i <= step; ++i) position.block_images[static_cast<size_t>(i)] += count;
    settings.ema_decays = block_ema_decays(training_.ema, position.block_images, static_cast<int>(count));
    const StepStats stats = train_step(models_, real, settings, rng);
    return {stats.d_loss, stats.g_loss, stats.penalty, {}, stats.real_signs};
  }

  void set_step_hooks(const StepHooks& hooks) override { hooks_ = hooks; }

  std::vector<torch::Tensor> state_tensors(bool optimizers) override {
    std::vector<torch::Tensor> tensors =
        module_state_tensors({models_.generator.get(), models_.discriminator.get(), models_.ema.get()});
    if (optimizers)
      for (torch::optim::Adam* adam : {models_.g_optimizer.get(), models_.d_optimizer.get()})
        for (torch::Tensor& t : adam_state_tensors(*adam)) tensors.push_back(t);
    return tensors;
  }

  torch::Tensor draw_average(const torch::Tensor& z, int step, double alpha) override {
    torch::NoGradGuard no_grad;
    return models_.ema->forward(z, step, alpha);
  }

  // In eval mode while it draws.
  SeededDrawer average_drawer(int step, double alpha, torch::Device device) override {
    return [this, step, alpha, device](int64_t count, torch::Generator& rng) {
      const bool was_training = models_.ema->is_training();
      models_.ema->eval();
      torch::Tensor images = generate_images(models_.ema, count, step, alpha, rng, device, 64);
      if (was_training) models_.ema->train();
      return images;
    };
  }

  void save(const std::vector<std::string>& paths, const TrainPosition& position, const std::mt19937_64& rng,
            const std::string& train_config) override {
    CheckpointMeta meta;
    meta.model = training_.model;
    meta.train_config = train_config;
    save_checkpoint(paths, models_, position, rng, meta);
  }

  LoadReport load(const std::string& path, TrainPosition& position, std::mt19937_64& rng) override {
    return load_checkpoint(path, models_, position, rng);
  }

 private:
  StyleGanTraining training_;
  StepModels models_;
  StepHooks hooks_;
};

}  // namespace

std::unique_ptr<TrainableGan> make_stylegan(const StyleGanTraining& training, torch::Device device) {
  return std::make_unique<StyleGan>(training, device);
}

}  // namespace sg::stylegan
