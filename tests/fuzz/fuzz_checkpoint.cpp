// A checkpoint as sg_train --ckpt, sg_test and sg_eval read it: our
// unpickler over the bytes (zip or legacy torch.save), then the metadata and
// a full load into a small model, StyleGAN and StyleGAN2. With
// SG_FUZZ_MAKE_SEEDS=DIR it writes a checkpoint of each model there as
// seeds and exits.
#include <torch/torch.h>

#include <cstdlib>
#include <random>

#include "common/errors.hpp"
#include "fuzz_common.hpp"
#include "model/core/torch_file.hpp"
#include "model/core/trainable_gan.hpp"
#include "model/stylegan/checkpoint.hpp"
#include "model/stylegan2/checkpoint.hpp"

namespace {

sg::stylegan::StyleGanConfig small_config() {
  sg::stylegan::StyleGanConfig c;
  c.max_size = 16;
  c.max_channels = 4;
  c.image_channels = 1;
  c.style_dim = 8;
  c.n_mlp = 2;
  return c;
}

sg::stylegan::StepModels& models() {
  static sg::stylegan::StepModels m = sg::stylegan::make_step_models(small_config(), 0.001, torch::kCPU);
  return m;
}

sg::stylegan2::Config small_stylegan2_config() {
  sg::stylegan2::Config c;
  c.size = 8;
  c.max_channels = 4;
  c.image_channels = 1;
  c.style_dim = 8;
  c.n_mlp = 2;
  return c;
}

sg::stylegan2::Models& stylegan2_models() {
  static sg::stylegan2::Models m = sg::stylegan2::make_models(small_stylegan2_config(), 0.002,
                                                              sg::stylegan2::Loss::LogisticR1, {}, torch::kCPU);
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::manual_seed(1);
  if (const char* dir = std::getenv("SG_FUZZ_MAKE_SEEDS")) {
    sg::TrainPosition position;
    position.schedule.step = 2;
    position.block_images = {64, 64, 32};
    sg::stylegan::CheckpointMeta meta;
    meta.model = small_config();
    meta.train_config = "init_size=8";
    std::mt19937_64 rng(1);
    sg::stylegan::save_checkpoint({std::string(dir) + "/small.ckpt"}, models(), position, rng, meta);
    sg::TrainPosition stylegan2_position;
    stylegan2_position.iteration = 3;
    sg::stylegan2::save_checkpoint({std::string(dir) + "/small_stylegan2.ckpt"}, stylegan2_models(),
                                   stylegan2_position, 0.5, rng, {});
    std::exit(0);
  }
  models();
  stylegan2_models();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    sg::read_torch_bytes(bytes, "fuzz.ckpt");
  } catch (const sg::Error&) {
  }
  const std::string path = sg::fuzz::write_scratch("c.ckpt", bytes);
  try {
    sg::stylegan::read_checkpoint_meta(path);
  } catch (const sg::Error&) {
  }
  try {
    sg::TrainPosition position;
    std::mt19937_64 rng;
    sg::stylegan::load_checkpoint(path, models(), position, rng);
  } catch (const sg::Error&) {
  }
  try {
    sg::checkpoint_architecture(path);
    sg::stylegan2::read_checkpoint_info(path);
  } catch (const sg::Error&) {
  }
  try {
    sg::TrainPosition position;
    std::mt19937_64 rng;
    double path_mean = 0;
    sg::stylegan2::load_checkpoint(path, stylegan2_models(), position, path_mean, rng);
  } catch (const sg::Error&) {
  }
  return 0;
}
