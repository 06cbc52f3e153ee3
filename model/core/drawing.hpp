#pragma once
// Pictures from generators, whatever the architecture: tensors in [-1, 1]
// to 8-bit images (refusing non-finite output), drawers that give images a
// batch at a time, PNG files, and the options and files of sg_test's grids.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/images/image.hpp"

namespace sg {

// A generator drew NaN or infinity (a diverged model): clamping would make
// it black or white pictures that look like output. Callers that know the
// checkpoint rethrow it naming the file.
class NonFiniteOutput : public std::runtime_error {
 public:
  NonFiniteOutput() : std::runtime_error("the generator's output is not finite (NaN or infinity): a diverged model") {}
};

// A batch in [-1, 1] as 8-bit pixels (clamped and rounded, as save_image):
// uint8 [n, c, h, w] on the CPU. NonFiniteOutput when any value is not finite.
torch::Tensor to_uint8_images(const torch::Tensor& batch);
// The same as one Image8 each.
std::vector<Image8> tensor_to_images(const torch::Tensor& batch);
// uint8 [n, c, h, w] as one Image8 each.
std::vector<Image8> uint8_to_images(const torch::Tensor& images);

// Writes an image as a PNG file, whole or not at all; OutputError when it cannot.
void write_png(const std::string& path, const Image8& image);

// The next `count` images as to_uint8_images gives them, from a generator
// and random streams the drawer holds.
using ImageDrawer = std::function<torch::Tensor(int64_t count)>;
// The same with latents and noise from the caller's CPU generator.
using SeededDrawer = std::function<torch::Tensor(int64_t count, torch::Generator& rng)>;
// Images first .. first+count-1 in [-1, 1] on the device, image i drawn from
// synthetic_image_seed(seed, i) whatever the batch.
using IndexedDrawer = std::function<torch::Tensor(int64_t first, int64_t count)>;

// n images drawn `batch` at a time into one uint8 tensor on the CPU.
torch::Tensor generate_images(const ImageDrawer& draw, int64_t n, int batch,
                              const std::function<void(int64_t)>& on_batch = {});

// The seed of synthetic image `index` of a set drawn with `seed`: each image
// depends on its index alone, so a set can be extended or resumed.
uint64_t synthetic_image_seed(uint64_t seed, int64_t index);

// The latents and noise maps of images first .. first+count-1 of a set
// drawn with `seed`, each image's from its own CPU generator
// (synthetic_image_seed): z [count, style_dim], then one [count, 1, s, s]
// map per entry s of noise_sizes, on `device`.
struct IndexedDraws {
  torch::Tensor z;
  std::vector<torch::Tensor> noise;
};
IndexedDraws indexed_draws(uint64_t seed, int64_t first, int64_t count, int style_dim,
                           const std::vector<int64_t>& noise_sizes, torch::Device device);

// sg_test's pictures: a grid of samples, a style-mixing grid (Karras et al.
// 2019, figure 3) and an interpolation walk in W space. Seeded: the same
// seed gives the same pictures.
struct SampleOptions {
  int size = 0;            // resolution to draw (must be trained)
  int rows = 3, cols = 5;
  uint64_t seed = 0;
  double truncation = 0.7;  // psi around the mean style; 1 = none
  int interpolate = 0;      // latents in the W-space walk (0: none)
  std::string device;
  // A conditional checkpoint: "" (its classes in turn), a class name, or
  // "all" (a folder of pictures per class).
  std::string class_name;
};

struct SampleResult {
  std::string samples, mixing, interpolation;  // written files
  std::string note;                             // what a reference checkpoint lacked ("" for ours)
};

// Writes sample.png and sample_mixing.png under `out_dir` (created), both
// drawn before either is written: a diverged model leaves no picture.
void write_sample_grids(const std::string& out_dir, const Image8& samples, const Image8& mixing, SampleResult& result);

// The W-space walk: `frames` drawn in order, as interpolation.gif.
void write_interpolation(const std::string& out_dir, const std::vector<Image8>& frames, SampleResult& result);

}  // namespace sg
