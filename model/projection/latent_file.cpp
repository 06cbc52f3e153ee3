#include "model/projection/latent_file.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "common/images/image_grid.hpp"
#include "model/core/drawing.hpp"
#include "model/core/state_dict_io.hpp"
#include "model/core/torch_file.hpp"

namespace sg {

namespace {

constexpr int64_t kFormatVersion = 1;

const PyValue& require(const PyValue& root, const char* key, PyValue::Kind kind, const std::string& path) {
  const PyValue* value = root.find(key);
  if (!value || !value->is(kind)) throw InputError(path, std::string("latent file without a valid \"") + key + "\"");
  return *value;
}

}  // namespace

void write_latent_file(const std::string& path, const LatentFile& l) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", std::string("sg-latents"));
  dict.insert("format_version", kFormatVersion);
  dict.insert("w_plus", l.w_plus.cpu().contiguous());
  c10::List<torch::Tensor> noise;
  for (const torch::Tensor& map : l.noise) noise.push_back(map.cpu().contiguous());
  dict.insert("noise", noise);
  dict.insert("architecture", std::string(architecture_name(l.architecture)));
  dict.insert("size", static_cast<int64_t>(l.size));
  dict.insert("space", std::string(l.w_plus_space ? "w+" : "w"));
  dict.insert("loss", l.loss);
  dict.insert("checkpoint", l.checkpoint);
  c10::List<std::string> targets;
  for (const std::string& t : l.targets) targets.push_back(t);
  dict.insert("targets", targets);
  write_checkpoint_files(dict, {path});
}

LatentFile read_latent_file(const std::string& path) {
  const TorchFile file = read_torch_file(path);
  const PyValue& root = *file.root;
  if (!root.is(PyValue::Kind::Dict) || !root.find("format") || root.find("format")->text != "sg-latents")
    throw InputError(path, "not a latent file of sg_project (no \"format\": \"sg-latents\")");
  if (require(root, "format_version", PyValue::Kind::Int, path).integer > kFormatVersion)
    throw InputError(path, "latent file format is newer than this program's");
  LatentFile l;
  l.w_plus = require(root, "w_plus", PyValue::Kind::Tensor, path).tensor.to(torch::kFloat);
  if (l.w_plus.dim() != 3 || l.w_plus.size(0) < 1)
    throw InputError(path, "\"w_plus\" is not a non-empty [n, rows, style_dim] tensor");
  for (const PyRef item : require(root, "noise", PyValue::Kind::List, path).items) {
    if (!item->is(PyValue::Kind::Tensor)) throw InputError(path, "\"noise\" holds something other than tensors");
    const torch::Tensor& map = item->tensor;
    if (map.dim() != 4 || map.size(0) != l.w_plus.size(0) || map.size(1) != 1 || map.size(2) != map.size(3))
      throw InputError(path, "a noise map is not [n, 1, s, s] for the file's " + std::to_string(l.w_plus.size(0)) +
                                 " latents");
    l.noise.push_back(map.to(torch::kFloat));
  }
  const std::string& arch = require(root, "architecture", PyValue::Kind::String, path).text;
  if (arch != "stylegan" && arch != "stylegan2") throw InputError(path, "unknown architecture \"" + arch + "\"");
  l.architecture = arch == "stylegan2" ? Architecture::StyleGan2 : Architecture::StyleGan;
  l.size = static_cast<int>(require(root, "size", PyValue::Kind::Int, path).integer);
  l.w_plus_space = require(root, "space", PyValue::Kind::String, path).text != "w";
  l.loss = require(root, "loss", PyValue::Kind::String, path).text;
  l.checkpoint = require(root, "checkpoint", PyValue::Kind::String, path).text;
  for (const PyRef item : require(root, "targets", PyValue::Kind::List, path).items)
    l.targets.push_back(item->is(PyValue::Kind::String) ? item->text : std::string());
  return l;
}

torch::Tensor draw_latents(CheckpointDrawer& generator, const LatentFile& l, const std::string& path) {
  if (l.architecture != generator.architecture())
    throw InputError(path, std::string("latents of a ") + architecture_name(l.architecture) +
                               " generator; the checkpoint is " + architecture_name(generator.architecture()));
  if (l.size != generator.size())
    throw InputError(path, "latents of a " + std::to_string(l.size) + "x" + std::to_string(l.size) +
                               " generator; the checkpoint draws " + std::to_string(generator.size()));
  if (l.w_plus.size(1) != generator.w_plus_rows() || l.w_plus.size(2) != generator.style_dim())
    throw InputError(path, "latents of shape [" + std::to_string(l.w_plus.size(1)) + ", " +
                               std::to_string(l.w_plus.size(2)) + "]; the checkpoint takes [" +
                               std::to_string(generator.w_plus_rows()) + ", " + std::to_string(generator.style_dim()) +
                               "]");
  const std::vector<int64_t> sizes = generator.noise_sizes();
  if (l.noise.size() != sizes.size())
    throw InputError(path, std::to_string(l.noise.size()) + " noise maps; the checkpoint takes " +
                               std::to_string(sizes.size()));
  for (size_t i = 0; i < sizes.size(); ++i)
    if (l.noise[i].size(2) != sizes[i])
      throw InputError(path, "noise map " + std::to_string(i) + " is " + std::to_string(l.noise[i].size(2)) +
                                 " pixels; the checkpoint takes " + std::to_string(sizes[i]));
  torch::NoGradGuard no_grad;
  // One at a time, as the projection drew them: the same pixels, bit for bit.
  std::vector<torch::Tensor> images;
  const torch::Device device = generator.device();
  for (int64_t i = 0; i < l.w_plus.size(0); ++i) {
    std::vector<torch::Tensor> noise;
    for (const torch::Tensor& map : l.noise) noise.push_back(map.narrow(0, i, 1).to(device));
    images.push_back(generator.synthesize_w_plus(l.w_plus.narrow(0, i, 1).to(device), noise).cpu());
  }
  return torch::cat(images);
}

LatentDrawing write_latent_images(const std::string& checkpoint, const std::string& latents_path,
                                  const std::string& out_dir, int size, const std::string& device,
                                  const CheckpointOpener& open) {
  const LatentFile latents = read_latent_file(latents_path);
  if (size != latents.size)
    throw InputError(latents_path, "holds latents of " + std::to_string(latents.size) + "x" +
                                       std::to_string(latents.size) + " images, not " + std::to_string(size));
  DrawRequest request;
  request.size = size;
  request.device = device;
  const std::unique_ptr<CheckpointDrawer> generator = open(checkpoint, request);
  const std::vector<Image8> images = tensor_to_images(draw_latents(*generator, latents, latents_path));
  create_output_folder(out_dir);
  const std::filesystem::path out(out_dir);
  for (size_t i = 0; i < images.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "latent_%05zu.png", i);
    write_png((out / name).string(), images[i]);
  }
  LatentDrawing result;
  result.images = static_cast<int64_t>(images.size());
  result.grid = (out / "latents.png").string();
  write_png(result.grid, readable_grid(images, std::min<int>(8, static_cast<int>(images.size()))));
  return result;
}

}  // namespace sg
