#pragma once
// Feature networks for FID, KID and precision/recall: TorchScript files
// called as stylegan2-ada-pytorch calls them (metrics/metric_utils.py) — a
// uint8 NCHW RGB batch in [0, 255] at the images' own size (the network
// resizes), with return_features=True — so that our numbers are the
// field's. Inception-v3 (`inception-2015-12-05.pt`) and VGG16 (`vgg16.pt`)
// are NVIDIA's files; nothing is downloaded: the user names the file
// (a flag or an environment variable). Any other TorchScript network that
// maps such a batch to [n, d] features serves a domain FID (`--features`).
#include <torch/torch.h>
#include <torch/script.h>

#include <cstdint>
#include <optional>
#include <string>

namespace sg {

enum class FeatureKind { Inception, Vgg, Custom };

// What a kind is called, where its file usually comes from, and which flag
// and environment variable name it.
struct FeatureKindInfo {
  const char* name;       // "Inception-v3", "VGG16", "custom"
  const char* file_name;  // "inception-2015-12-05.pt", ...
  const char* url;        // "" for custom
  const char* flag;       // "--inception", "--vgg", "--features"
  const char* env;        // "SG_INCEPTION", "SG_VGG", "SG_FEATURES"
};
const FeatureKindInfo& feature_kind_info(FeatureKind kind);

// The file for a kind: the flag's value, else the environment variable's.
// Throws InputError (naming the file to download and where it usually comes
// from) when neither is given or the file does not exist; `metric` names
// what needs it ("--metrics fid").
std::string resolve_feature_file(FeatureKind kind, const std::string& flag_value, const std::string& metric);

class FeatureNetwork {
 public:
  // Throws InputError naming the file when it is no TorchScript module.
  FeatureNetwork(const std::string& path, FeatureKind kind, torch::Device device);

  // uint8 images [n, 1 or 3, h, w] (grey replicated to RGB, as the anchors
  // do) -> float features [n, d] on the CPU. Throws InputError naming the
  // file when the network cannot take the batch or returns no [n, d].
  torch::Tensor features(const torch::Tensor& images);

  // LPIPS features of float images [n, 1 or 3, h, w] in [0, 255], as
  // stylegan2-ada-pytorch's projector calls vgg16.pt (resize_images=False,
  // return_lpips=True): on the device and differentiable; the squared
  // distance of two images' features is their LPIPS distance. Throws
  // InputError naming the file when its forward takes no return_lpips.
  torch::Tensor lpips_features(const torch::Tensor& images);

  const std::string& path() const { return path_; }
  FeatureKind kind() const { return kind_; }
  // The file's name without ".pt": the report's and the cache's label.
  std::string label() const;
  // A digest of the file's bytes (the real-feature cache's key).
  uint64_t digest() const { return digest_; }

 private:
  // The module's forward on an RGB batch, checked to give [n, d] features;
  // InputError naming the file otherwise (`batch` and `call` describe the
  // call in the message, `forward` names what returned the wrong shape).
  torch::Tensor call_forward(const torch::Tensor& rgb, torch::jit::Kwargs kwargs, const std::string& batch,
                             const std::string& forward, const std::string& call = "");

  std::string path_;
  FeatureKind kind_;
  torch::Device device_;
  torch::jit::Module module_;
  bool takes_return_features_ = false;
  bool takes_return_lpips_ = false;
  bool takes_resize_images_ = false;
  uint64_t digest_ = 0;
};

}  // namespace sg
