#include "model/core/drawing.hpp"

#include <cstring>
#include <filesystem>

#include "common/atomic_file.hpp"
#include "common/hashing.hpp"
#include "common/images/animation.hpp"
#include "common/images/image_codec.hpp"
#include "common/images/image_grid.hpp"

namespace sg {

namespace fs = std::filesystem;

torch::Tensor to_uint8_images(const torch::Tensor& batch) {
  const torch::Tensor values = batch.detach().to(torch::kCPU);
  if (!torch::isfinite(values).all().item<bool>()) throw NonFiniteOutput();
  // stylegan2-ada-pytorch's quantisation (its metrics and image dumps), which
  // torchvision's save_image also gives: round half up, clamped.
  return (values * 127.5 + 128).clamp(0, 255).to(torch::kUInt8);
}

std::vector<Image8> tensor_to_images(const torch::Tensor& batch) { return uint8_to_images(to_uint8_images(batch)); }

std::vector<Image8> uint8_to_images(const torch::Tensor& planar) {
  auto bytes = planar.permute({0, 2, 3, 1}).contiguous();
  std::vector<Image8> images;
  for (int64_t i = 0; i < bytes.size(0); ++i) {
    Image8 image(static_cast<int>(bytes.size(2)), static_cast<int>(bytes.size(1)), static_cast<int>(bytes.size(3)));
    std::memcpy(image.pixels.data(), bytes[i].data_ptr<uint8_t>(), image.pixels.size());
    images.push_back(std::move(image));
  }
  return images;
}

void write_png(const std::string& path, const Image8& image) {
  write_file_atomically(path, encode_png(image, 6), "PNG");
}

torch::Tensor generate_images(const ImageDrawer& draw, int64_t n, int batch,
                              const std::function<void(int64_t)>& on_batch) {
  torch::NoGradGuard no_grad;
  torch::Tensor images;
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min<int64_t>(batch, n - first);
    const torch::Tensor drawn = draw(count);
    if (!images.defined()) images = torch::empty({n, drawn.size(1), drawn.size(2), drawn.size(3)}, torch::kUInt8);
    images.slice(0, first, first + count).copy_(drawn);
    if (on_batch) on_batch(first + count);
  }
  return images;
}

uint64_t synthetic_image_seed(uint64_t seed, int64_t index) {
  return splitmix64(seed ^ splitmix64(static_cast<uint64_t>(index)));
}

IndexedDraws indexed_draws(uint64_t seed, int64_t first, int64_t count, int style_dim,
                           const std::vector<int64_t>& noise_sizes, torch::Device device) {
  std::vector<torch::Tensor> z;
  std::vector<std::vector<torch::Tensor>> noise(noise_sizes.size());
  for (int64_t i = first; i < first + count; ++i) {
    torch::Generator rng = at::detail::createCPUGenerator(synthetic_image_seed(seed, i));
    z.push_back(torch::randn({1, style_dim}, rng));
    for (size_t m = 0; m < noise_sizes.size(); ++m)
      noise[m].push_back(torch::randn({1, 1, noise_sizes[m], noise_sizes[m]}, rng));
  }
  IndexedDraws draws;
  draws.z = torch::cat(z).to(device);
  for (const auto& maps : noise) draws.noise.push_back(torch::cat(maps).to(device));
  return draws;
}

void write_sample_grids(const std::string& out_dir, const Image8& samples, const Image8& mixing, SampleResult& result) {
  create_output_folder(out_dir);
  result.samples = (fs::path(out_dir) / "sample.png").string();
  write_png(result.samples, samples);
  result.mixing = (fs::path(out_dir) / "sample_mixing.png").string();
  write_png(result.mixing, mixing);
}

void write_interpolation(const std::string& out_dir, const std::vector<Image8>& frames, SampleResult& result) {
  result.interpolation = (fs::path(out_dir) / "interpolation.gif").string();
  std::vector<Image8> readable;
  for (const Image8& frame : frames) readable.push_back(scale_up(frame, readable_factor(frame.width)));
  write_gif(result.interpolation, readable, 8);
}

}  // namespace sg
