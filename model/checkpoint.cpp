#include "model/checkpoint.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pipeline/atomic_file.hpp"
#include "pipeline/errors.hpp"

namespace sg {

namespace fs = std::filesystem;

namespace {

c10::Dict<std::string, torch::Tensor> state_dict(torch::nn::Module& module) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& p : module.named_parameters()) dict.insert(p.key(), p.value().detach().cpu());
  for (const auto& b : module.named_buffers()) dict.insert(b.key(), b.value().detach().cpu());
  return dict;
}

void load_state_dict(torch::nn::Module& module, const c10::Dict<c10::IValue, c10::IValue>& dict,
                     const std::string& file, const std::string& what) {
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& key, torch::Tensor& target) {
    auto it = dict.find(key);
    if (it == dict.end()) throw InputError(file, what + " lacks " + key + ": the checkpoint is of another model");
    torch::Tensor value = it->value().toTensor();
    if (value.sizes() != target.sizes()) {
      std::ostringstream s;
      s << what << "." << key << " has shape " << value.sizes() << " in the checkpoint but " << target.sizes()
        << " in this model (check --channels, --max_size, the image channels)";
      throw InputError(file, s.str());
    }
    target.copy_(value);
  };
  for (auto& p : module.named_parameters()) assign(p.key(), p.value());
  for (auto& b : module.named_buffers()) assign(b.key(), b.value());
}

std::string optimizer_bytes(torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void load_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes, torch::Device device) {
  torch::serialize::InputArchive archive;
  std::istringstream in(bytes);
  archive.load_from(in, device);
  optimizer.load(archive);
}

std::string config_text(const StyleGanConfig& c) {
  std::ostringstream s;
  s << c.max_size << ' ' << c.max_channels << ' ' << c.image_channels << ' ' << c.style_dim << ' ' << c.n_mlp << ' '
    << c.from_rgb_activate;
  return s.str();
}

StyleGanConfig parse_config(const std::string& text) {
  StyleGanConfig c;
  std::istringstream s(text);
  s >> c.max_size >> c.max_channels >> c.image_channels >> c.style_dim >> c.n_mlp >> c.from_rgb_activate;
  return c;
}

c10::impl::GenericDict read_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open checkpoint");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    torch::IValue value = torch::pickle_load(bytes);
    if (!value.isGenericDict()) throw InputError(path, "not a checkpoint (no dictionary inside)");
    return value.toGenericDict();
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("corrupt or truncated checkpoint: ") + e.what_without_backtrace());
  }
}

c10::IValue require(const c10::impl::GenericDict& dict, const std::string& key, const std::string& path) {
  auto it = dict.find(key);
  if (it == dict.end()) throw InputError(path, "checkpoint lacks \"" + key + "\"");
  return it->value();
}

}  // namespace

void save_checkpoint(const std::vector<std::string>& paths, StepModels& models, const TrainPosition& position,
                     const std::mt19937_64& rng, const CheckpointMeta& meta) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("generator", state_dict(*models.generator));
  dict.insert("discriminator", state_dict(*models.discriminator));
  dict.insert("g_running", state_dict(*models.ema));
  dict.insert("g_optimizer", optimizer_bytes(*models.g_optimizer));
  dict.insert("d_optimizer", optimizer_bytes(*models.d_optimizer));
  dict.insert("iteration", position.iteration);
  dict.insert("images_seen", static_cast<int64_t>(position.images_seen));
  dict.insert("step", static_cast<int64_t>(position.schedule.step));
  dict.insert("used_sample", static_cast<int64_t>(position.schedule.used_sample));
  dict.insert("first_stage_without_fade", position.schedule.first_stage_without_fade);
  dict.insert("finished", position.schedule.finished);
  dict.insert("alpha", position.alpha);
  dict.insert("data_epoch", static_cast<int64_t>(position.data_epoch));
  dict.insert("data_batch", static_cast<int64_t>(position.data_batch));
  std::ostringstream rng_state;
  rng_state << rng;
  dict.insert("rng", rng_state.str());
  dict.insert("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
  dict.insert("model_config", config_text(meta.model));
  dict.insert("train_config", meta.train_config);

  // Serialised once, however many names it is written under.
  const std::vector<char> bytes = torch::pickle_save(dict);
  for (const std::string& path : paths)
    write_file_atomically(path, std::string_view(bytes.data(), bytes.size()), "checkpoint");
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  auto dict = read_dict(path);
  CheckpointMeta meta;
  meta.model = parse_config(require(dict, "model_config", path).toStringRef());
  meta.train_config = require(dict, "train_config", path).toStringRef();
  meta.trained_step = static_cast<int>(require(dict, "step", path).toInt());
  meta.alpha = require(dict, "alpha", path).toDouble();
  const size_t at = meta.train_config.find("init_size=");
  if (at != std::string::npos) meta.init_size = std::atoi(meta.train_config.c_str() + at + 10);
  return meta;
}

void load_checkpoint(const std::string& path, StepModels& models, TrainPosition& position, std::mt19937_64& rng) {
  auto dict = read_dict(path);
  torch::Device device = models.generator->parameters().front().device();
  load_state_dict(*models.generator, require(dict, "generator", path).toGenericDict(), path, "generator");
  load_state_dict(*models.discriminator, require(dict, "discriminator", path).toGenericDict(), path, "discriminator");
  load_state_dict(*models.ema, require(dict, "g_running", path).toGenericDict(), path, "g_running");
  load_optimizer(*models.g_optimizer, require(dict, "g_optimizer", path).toStringRef(), device);
  load_optimizer(*models.d_optimizer, require(dict, "d_optimizer", path).toStringRef(), device);
  position.iteration = require(dict, "iteration", path).toInt();
  position.images_seen = static_cast<uint64_t>(require(dict, "images_seen", path).toInt());
  position.schedule.step = static_cast<int>(require(dict, "step", path).toInt());
  position.schedule.used_sample = static_cast<uint64_t>(require(dict, "used_sample", path).toInt());
  position.schedule.first_stage_without_fade = require(dict, "first_stage_without_fade", path).toBool();
  position.schedule.finished = require(dict, "finished", path).toBool();
  position.alpha = require(dict, "alpha", path).toDouble();
  position.data_epoch = static_cast<uint64_t>(require(dict, "data_epoch", path).toInt());
  position.data_batch = static_cast<uint64_t>(require(dict, "data_batch", path).toInt());
  std::istringstream rng_state(require(dict, "rng", path).toStringRef());
  rng_state >> rng;
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(require(dict, "torch_rng", path).toTensor());
}

void load_ema_generator(const std::string& path, StyledGenerator& generator) {
  auto dict = read_dict(path);
  load_state_dict(*generator, require(dict, "g_running", path).toGenericDict(), path, "g_running");
}

}  // namespace sg
