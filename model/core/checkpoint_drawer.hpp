#pragma once
// A checkpoint's generator, loaded to draw: what sg_test, sg_eval and the
// synthetic-data export need from an architecture. Each architecture
// implements it beside its sampling code; the GAN factory
// (model/training/gan_factory.hpp) opens a file as the right one, and the
// evaluation is handed that opener, so it never names an architecture.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/core/drawing.hpp"
#include "model/core/trainable_gan.hpp"

namespace sg {

struct DrawRequest {
  int size = 0;         // 0: the largest size it draws
  std::string device;   // "", "cpu", "cuda"
  bool raw = false;     // the trained generator instead of its average
  // A conditional checkpoint's class to draw (-1: its classes in turn);
  // an unconditional one refuses any other than -1.
  int class_index = -1;
};

class CheckpointDrawer {
 public:
  virtual ~CheckpointDrawer() = default;
  virtual Architecture architecture() const = 0;
  virtual int size() const = 0;      // what it draws, size x size
  virtual int channels() const = 0;
  // "checkpoint", "StyleGAN2 checkpoint (raw generator)": for reports.
  virtual std::string kind() const = 0;
  // What a reference file lacked, in one line ("" for ours).
  virtual std::string note() const = 0;
  // A conditional checkpoint's classes (index = label); empty otherwise.
  virtual std::vector<std::string> class_names() const { return {}; }
  // sg_test's pictures under `out_dir`.
  virtual SampleResult write_samples(const std::string& out_dir, const SampleOptions& options) = 0;

  // sg_eval's images: each batch's latents, then its noise maps, from one
  // CPU generator seeded with `seed`; with psi other than 1, truncated
  // towards the mean w drawn from it first.
  ImageDrawer seeded_images(uint64_t seed, double psi);
  // The export's images (IndexedDrawer); with psi other than 1, truncated
  // towards the mean w of `seed`.
  IndexedDrawer indexed_images(uint64_t seed, double psi);

  // What the shared drawers and the projection need of the generator.
  virtual torch::Device device() const = 0;
  virtual int style_dim() const = 0;
  // The sizes of one image's noise maps, in drawing order.
  virtual std::vector<int64_t> noise_sizes() const = 0;
  // The mean w over latents from `rng`, for truncation.
  virtual torch::Tensor mean_w(torch::Generator& rng) = 0;

  // The synthesis driven by W+ directly (sg_project, sg_test --latents):
  // the rows of W+ it takes (StyleGAN: one w per block; StyleGAN2: one per
  // modulated layer, n_latent), the mapping z [n, style_dim] -> w, and
  // images in [-1, 1] from W+ [n, rows, style_dim] and noise maps [n, 1, s,
  // s] of noise_sizes(), differentiable in both (the weights stay fixed).
  virtual int w_plus_rows() const = 0;
  virtual torch::Tensor map_to_w(const torch::Tensor& z) = 0;
  virtual torch::Tensor synthesize_w_plus(const torch::Tensor& w_plus, const std::vector<torch::Tensor>& noise) = 0;

  // A conditional checkpoint's classes of images first .. first+count-1 of a
  // drawing (the requested class, or index mod classes) as int64 [count];
  // undefined for an unconditional one.
  virtual torch::Tensor labels_of(int64_t /*first*/, int64_t /*count*/) const { return {}; }

 protected:
  // Images in [-1, 1] of latents z and noise maps on the device, truncated
  // towards mean_w by psi when mean_w is defined; `labels` their classes
  // (a conditional generator's; undefined otherwise).
  virtual torch::Tensor synthesize(const torch::Tensor& z, std::vector<torch::Tensor> noise,
                                   const torch::Tensor& mean_w, double psi, const torch::Tensor& labels) = 0;
};

// Opens a checkpoint of any architecture; InputError naming the file when
// it cannot, or cannot draw the size asked.
using CheckpointOpener = std::function<std::unique_ptr<CheckpointDrawer>(const std::string& checkpoint,
                                                                          const DrawRequest& request)>;

}  // namespace sg
