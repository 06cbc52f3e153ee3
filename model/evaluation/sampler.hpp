#pragma once
// What sg_test makes from a checkpoint's EMA generator: a grid of samples,
// a style-mixing grid (Karras et al. 2019, figure 3) and an interpolation
// walk in W space. Seeded: the same seed gives the same pictures.
#include <torch/torch.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/training/checkpoint.hpp"
#include "model/stylegan/networks.hpp"
#include "stages/image.hpp"

namespace sg {

struct SampleOptions {
  int size = 0;            // resolution to draw (must be trained)
  int rows = 3, cols = 5;
  uint64_t seed = 0;
  double truncation = 0.7;  // psi around the mean style; 1 = none
  int interpolate = 0;      // latents in the W-space walk (0: none)
  std::string device;
};

struct SampleResult {
  std::string samples, mixing, interpolation;  // written files
  std::string note;                             // what a reference checkpoint lacked ("" for ours)
};

// Mean of the mapping network over 10 x 1024 latents (as generate.py).
torch::Tensor mean_style(StyledGenerator& generator, torch::Generator& rng, torch::Device device);

// n images from latents z (one noise map per block, shared by all images).
torch::Tensor generate(StyledGenerator& generator, const torch::Tensor& z, int step, double alpha,
                       const torch::Tensor& mean_w, double psi, const std::vector<torch::Tensor>& noise);

// (rows + 1) x (cols + 1) images, row-major: a black corner, the sources
// along the top, the destinations down the left, and each cell the
// destination with the source's coarse styles (blocks 0-1: 4x4 and 8x8).
std::vector<torch::Tensor> mixing_cells(StyledGenerator& generator, const torch::Tensor& source_z,
                                        const torch::Tensor& destination_z, int step, double alpha,
                                        const torch::Tensor& mean_w, double psi,
                                        const std::vector<torch::Tensor>& noise);

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

// The next `count` images as to_uint8_images gives them: one
// architecture's generator at one size, its latents and noise from a CPU
// generator the drawer holds, as the evaluation calls it.
using ImageDrawer = std::function<torch::Tensor(int64_t count)>;

// n images drawn `batch` at a time into one uint8 tensor on the CPU.
torch::Tensor generate_images(const ImageDrawer& draw, int64_t n, int batch,
                              const std::function<void(int64_t)>& on_batch = {});

// n images as to_uint8_images gives them, drawn `batch` at a time; latents
// and noise maps come from `rng` (a CPU generator), so the result depends
// on its seed only. With mean_w defined, truncation psi around it.
// `on_batch(done)` reports progress.
torch::Tensor generate_images(StyledGenerator& generator, int64_t n, int step, double alpha, torch::Generator& rng,
                              torch::Device device, int batch, const torch::Tensor& mean_w = {}, double psi = 1.0,
                              const std::function<void(int64_t)>& on_batch = {});

// The checkpoint's EMA generator (g_running) on `device`, ready to draw.
// With `raw`, the trained generator (`generator`) instead of its average.
StyledGenerator load_sampling_generator(const std::string& checkpoint, const CheckpointMeta& meta, torch::Device device,
                                        bool raw = false);

// Writes an image as a PNG file, whole or not at all; OutputError when it cannot.
void write_png(const std::string& path, const Image8& image);

// Where a checkpoint (its meta) can draw `size`: its step and fade-in. A
// size it was not trained to is an InputError naming the sizes it can draw.
struct DrawPlan {
  int step = 0;
  double alpha = 1.0;
};
DrawPlan plan_drawing(const std::string& checkpoint, const CheckpointMeta& meta, int size);

// Loads `checkpoint` and writes sample.png, sample_mixing.png and (with
// interpolate) interpolation.gif under `out_dir`. A size the checkpoint was
// not trained to is an InputError naming the sizes it can draw.
SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options);

}  // namespace sg
