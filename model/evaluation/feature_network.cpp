#include "model/evaluation/feature_network.hpp"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "common/errors.hpp"
#include "common/hashing.hpp"

namespace sg {

namespace fs = std::filesystem;

const FeatureKindInfo& feature_kind_info(FeatureKind kind) {
  static const FeatureKindInfo inception{
      "Inception-v3", "inception-2015-12-05.pt",
      "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
      "--inception", "SG_INCEPTION"};
  static const FeatureKindInfo vgg{"VGG16", "vgg16.pt",
                                   "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/vgg16.pt",
                                   "--vgg", "SG_VGG"};
  static const FeatureKindInfo custom{"custom", "", "", "--features", "SG_FEATURES"};
  return kind == FeatureKind::Inception ? inception : kind == FeatureKind::Vgg ? vgg : custom;
}

std::string resolve_feature_file(FeatureKind kind, const std::string& flag_value, const std::string& metric) {
  const FeatureKindInfo& info = feature_kind_info(kind);
  std::string path = flag_value;
  if (path.empty())
    if (const char* env = std::getenv(info.env)) path = env;
  const std::string wanted =
      kind == FeatureKind::Custom
          ? std::string("a TorchScript feature network")
          : std::string(info.name) + "'s TorchScript file " + info.file_name + " (stylegan2-ada-pytorch's metrics; " +
                "nothing is downloaded here: fetch it once from " + info.url + ")";
  if (path.empty())
    throw InputError(metric, "needs " + wanted + ": give " + info.flag + " FILE or set " + info.env);
  std::error_code error;
  if (!fs::is_regular_file(path, error))
    throw InputError(path, std::string("no such file (") + info.flag + "): " + metric + " needs " + wanted);
  return path;
}

FeatureNetwork::FeatureNetwork(const std::string& path, FeatureKind kind, torch::Device device)
    : path_(path), kind_(kind), device_(device) {
  try {
    module_ = torch::jit::load(path, device);
  } catch (const std::exception& e) {
    throw InputError(path, std::string("not a TorchScript module (torch.jit.save) that this LibTorch reads, as ") +
                               feature_kind_info(kind).flag + " needs: " + first_line(e.what()));
  }
  module_.eval();
  const auto forward = module_.find_method("forward");
  if (!forward) throw InputError(path, "the TorchScript module has no forward method");
  for (const c10::Argument& argument : forward->function().getSchema().arguments())
    if (argument.name() == "return_features") takes_return_features_ = true;
    else if (argument.name() == "return_lpips") takes_return_lpips_ = true;
    else if (argument.name() == "resize_images") takes_resize_images_ = true;
  digest_ = fnv1a64_file(path);
}

std::string FeatureNetwork::label() const { return fs::path(path_).stem().string(); }

torch::Tensor FeatureNetwork::call_forward(const torch::Tensor& rgb, torch::jit::Kwargs kwargs, const std::string& batch,
                                           const std::string& forward, const std::string& call) {
  std::vector<c10::IValue> inputs{rgb.to(device_)};
  c10::IValue output;
  try {
    output = module_.get_method("forward")(inputs, std::move(kwargs));
  } catch (const std::exception& e) {
    throw InputError(path_, "its forward failed on " + batch + " [" + std::to_string(rgb.size(0)) + ", 3, " +
                                std::to_string(rgb.size(2)) + ", " + std::to_string(rgb.size(3)) + "]" + call + ": " +
                                first_line(e.what()));
  }
  if (!output.isTensor()) throw InputError(path_, "its forward returned no tensor");
  torch::Tensor features = output.toTensor();
  if (features.dim() != 2 || features.size(0) != rgb.size(0))
    throw InputError(path_, "its " + forward + " returned " + std::to_string(features.dim()) +
                                "-D output, not features [n, d] for the n images given");
  return features;
}

torch::Tensor FeatureNetwork::features(const torch::Tensor& images) {
  if (images.dim() != 4 || images.scalar_type() != torch::kUInt8 || (images.size(1) != 1 && images.size(1) != 3))
    throw std::invalid_argument("feature network: uint8 images [n, 1 or 3, h, w] expected");
  torch::NoGradGuard no_grad;
  const torch::Tensor rgb = images.size(1) == 1 ? images.repeat({1, 3, 1, 1}) : images;
  torch::jit::Kwargs kwargs;
  if (takes_return_features_) kwargs.emplace("return_features", true);
  return call_forward(rgb, std::move(kwargs), "a uint8 batch", "forward").to(torch::kCPU, torch::kFloat);
}

torch::Tensor FeatureNetwork::lpips_features(const torch::Tensor& images) {
  if (images.dim() != 4 || !images.is_floating_point() || (images.size(1) != 1 && images.size(1) != 3))
    throw std::invalid_argument("LPIPS: float images [n, 1 or 3, h, w] in [0, 255] expected");
  if (!takes_return_lpips_)
    throw InputError(path_, "its forward takes no return_lpips argument: LPIPS needs NVIDIA's vgg16.pt "
                            "(stylegan2-ada-pytorch's metrics file, from " + std::string(feature_kind_info(FeatureKind::Vgg).url) + ")");
  const torch::Tensor rgb = images.size(1) == 1 ? images.expand({-1, 3, -1, -1}) : images;
  torch::jit::Kwargs kwargs;
  kwargs.emplace("return_lpips", true);
  if (takes_resize_images_) kwargs.emplace("resize_images", false);
  return call_forward(rgb, std::move(kwargs), "a float batch", "LPIPS forward", " with return_lpips=True");
}

}  // namespace sg
