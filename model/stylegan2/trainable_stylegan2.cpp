#include "model/stylegan2/trainable_stylegan2.hpp"

#include "model/stylegan2/sampling.hpp"

namespace sg::stylegan2 {

namespace {

class StyleGan2 final : public TrainableGan {
 public:
  StyleGan2(const Training& training, torch::Device device)
      : training_(training),
        models_(make_models(training.model, training.saved.lr, training.saved.loss, training.saved.regularization,
                            device)) {}

  std::vector<std::string> extra_scalar_names() const override { return {"path", "path_length", "path_mean"}; }
  int style_dim() const override { return training_.model.style_dim; }

  // Fixed for a run: the lazy correction of make_models stays.
  void set_learning_rate(double) override {}

  void to_channels_last() override {
    for (torch::nn::Module* module : {static_cast<torch::nn::Module*>(models_.generator.get()),
                                      static_cast<torch::nn::Module*>(models_.discriminator.get()),
                                      static_cast<torch::nn::Module*>(models_.ema.get())})
      sg::to_channels_last(*module);
  }

  IterationScalars train_iteration(const torch::Tensor& real, const torch::Tensor& labels, int64_t, int, double,
                                   TrainPosition& position, std::mt19937_64& rng) override {
    StepOptions options;
    options.iteration = position.iteration;
    options.loss = training_.saved.loss;
    options.regularization = training_.saved.regularization;
    options.mixing = training_.saved.mixing;
    options.ema_decay = ramped_ema_decay(training_.ema, position.iteration, training_.saved.batch);
    options.augment_p = position.augment.p;
    options.precision = training_.precision;
    options.average_gradients = hooks_.average_gradients;
    options.mean_over_ranks = hooks_.mean_over_ranks;
    options.class_weights = training_.class_weights;
    const StepStats stats = train_step(models_, real, options, state_, rng, labels);
    return {stats.d_loss, stats.g_loss, stats.penalty,
            {stats.path, stats.path_length, torch::tensor(state_.path_mean)}, stats.real_signs};
  }

  void set_step_hooks(const StepHooks& hooks) override { hooks_ = hooks; }

  std::vector<torch::Tensor> state_tensors(bool optimizers) override {
    std::vector<torch::Tensor> tensors =
        module_state_tensors({models_.generator.get(), models_.discriminator.get(), models_.ema.get()});
    if (optimizers) {
      for (torch::optim::Adam* adam : {models_.g_optimizer.get(), models_.d_optimizer.get()})
        for (torch::Tensor& t : adam_state_tensors(*adam)) tensors.push_back(t);
      tensors.push_back(torch::tensor(state_.path_mean, torch::kDouble));  // checkpointed state too
    }
    return tensors;
  }

  torch::Tensor draw_average(const torch::Tensor& z, int, double) override {
    torch::NoGradGuard no_grad;
    SynthesisOptions options;
    options.labels = drawing_labels(models_.ema->config, z.size(0), -1, z.device());
    return models_.ema->forward(std::vector{z}, options).image;
  }

  SeededDrawer average_drawer(int, double, torch::Device device) override {
    return [this, device](int64_t count, torch::Generator& rng) {
      return generate_images([&](int64_t n) { return draw_uint8(models_.ema, n, rng, device); }, count, 64);
    };
  }

  void save(const std::vector<std::string>& paths, const TrainPosition& position, const std::mt19937_64& rng,
            const std::string& train_config) override {
    SavedTraining saved = training_.saved;
    saved.train_config = train_config;
    save_checkpoint(paths, models_, position, state_.path_mean, rng, saved);
  }

  LoadReport load(const std::string& path, TrainPosition& position, std::mt19937_64& rng) override {
    return load_checkpoint(path, models_, position, state_.path_mean, rng);
  }

 private:
  Training training_;
  Models models_;
  LazyState state_;
  StepHooks hooks_;
};

}  // namespace

std::unique_ptr<TrainableGan> make_stylegan2(const Training& training, torch::Device device) {
  return std::make_unique<StyleGan2>(training, device);
}

}  // namespace sg::stylegan2
