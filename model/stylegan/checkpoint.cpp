#include "model/stylegan/checkpoint.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "model/core/adam_step.hpp"
#include "model/core/ema.hpp"
#include "model/core/state_dict_io.hpp"
#include "model/core/state_order.hpp"
#include "model/core/torch_file.hpp"

namespace sg::stylegan {

namespace {

// 1: optimiser states as LibTorch archives (str), discriminator blocks
// numbered from our largest size, only the blocks up to max_size.
// 2: PyTorch Adam state dicts, reference numbering, all nine blocks.
constexpr int64_t kFormatVersion = 2;
// Seed of the initial values stored for the blocks past max_size.
constexpr uint64_t kFillSeed = 20190101;



// The reference's full model (all nine blocks) at our width and image
// channels: its state-dict names in order, the parameter names of each
// optimiser group in the reference's order (G: synthesis, mapping; D: one
// group), and the initial values of what our smaller model lacks.
struct ReferenceLayout {
  Keys generator_keys, discriminator_keys;
  std::vector<Keys> generator_groups, discriminator_groups;
  std::unordered_map<std::string, torch::Tensor> generator_fill, discriminator_fill;
};

std::string config_text(const StyleGanConfig& c) {
  return numbers_text({c.max_size, c.max_channels, c.image_channels, c.style_dim, c.n_mlp, c.from_rgb_activate});
}

StyleGanConfig parse_config(const std::string& text, const std::string& path) {
  StyleGanConfig c;
  int from_rgb_activate = 1;
  const bool read =
      read_numbers(text, {&c.max_size, &c.max_channels, &c.image_channels, &c.style_dim, &c.n_mlp, &from_rgb_activate});
  c.from_rgb_activate = from_rgb_activate != 0;
  if (!read || (from_rgb_activate != 0 && from_rgb_activate != 1) || c.max_size < 4 || c.max_size > 1024 || c.max_channels < 1 || c.image_channels < 1 || c.style_dim < 1 ||
      c.n_mlp < 0 || c.n_mlp > 64)
    throw InputError(path, "checkpoint has an unreadable model configuration \"" + text + "\"");
  try {
    step_for_size(c.max_size);
  } catch (const std::invalid_argument& e) {
    throw InputError(path, std::string("checkpoint has an unreadable model configuration: ") + e.what());
  }
  return c;
}

const ReferenceLayout& reference_layout(const StyleGanConfig& ours) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<ReferenceLayout>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[config_text(ours)];
  if (slot) return *slot;

  StyleGanConfig full = ours;
  full.max_size = 1024;
  // Built from a fixed seed (the same file for the same model), without
  // moving the training's own random stream.
  at::Generator cpu = at::detail::getDefaultCPUGenerator();
  const torch::Tensor saved_state = cpu.get_state();
  cpu.set_current_seed(kFillSeed);
  StyledGenerator g(full), small_g(ours);
  Discriminator d(full), small_d(ours);
  cpu.set_state(saved_state);

  auto layout = std::make_unique<ReferenceLayout>();
  auto collect = [](const torch::nn::Module& full_module, const torch::nn::Module& small_module, Keys& keys,
                    std::unordered_map<std::string, torch::Tensor>& fill) {
    std::unordered_set<std::string> have;
    for (const auto& [name, tensor] : ordered_state(small_module)) have.insert(name);
    for (const auto& [name, tensor] : ordered_state(full_module)) {
      keys.push_back(name);
      if (!have.count(name)) fill.emplace(name, tensor.detach().clone());
    }
  };
  collect(*g, *small_g, layout->generator_keys, layout->generator_fill);
  collect(*d, *small_d, layout->discriminator_keys, layout->discriminator_fill);
  layout->generator_groups = {prefixed_parameter_names(*g->generator, "generator."),
                              prefixed_parameter_names(*g->style, "style.")};
  layout->discriminator_groups = {prefixed_parameter_names(*d, "")};
  slot = std::move(layout);
  return *slot;
}

// ---------------------------------------------------------------- writing

c10::impl::GenericDict reference_state_dict(const torch::nn::Module& module, const Keys& keys,
                                            const std::unordered_map<std::string, torch::Tensor>& fill) {
  c10::Dict<std::string, torch::Tensor> dict;
  const auto params = module.named_parameters();
  const auto buffers = module.named_buffers();
  for (const std::string& key : keys) {
    const torch::Tensor* t = params.find(key);
    if (!t) t = buffers.find(key);
    if (!t) t = &fill.at(key);
    dict.insert(key, t->detach().to(torch::kCPU).contiguous());
  }
  return c10::impl::toGenericDict(dict);
}

// The largest block trained and its fade-in, from the schedule position: a
// checkpoint written as a stage begins (used_sample 0 after a growth) holds
// the stage before it, finished.
std::pair<int, double> trained_top(const TrainPosition& p) {
  if (p.schedule.used_sample == 0 && !p.schedule.first_stage_without_fade && p.schedule.step > 0)
    return {p.schedule.step - 1, 1.0};
  return {p.schedule.step, p.alpha};
}

// ---------------------------------------------------------------- reading

struct Opened {
  TorchFile file;
  CheckpointSource source = CheckpointSource::Ours;
  const PyValue* g_running = nullptr;  // the EMA generator's state dict in every kind
};

Opened open_checkpoint(const std::string& path) {
  Opened o;
  o.file = read_torch_file(path);
  const PyValue& root = *o.file.root;
  if (!root.is(PyValue::Kind::Dict))
    throw InputError(path, "not a StyleGAN checkpoint: the file holds a " + root.describe() + ", not a dict");
  if (root.find("g_ema")) {
    throw InputError(path, "a StyleGAN2 checkpoint (g_ema), not a StyleGAN one: give --arch stylegan2");
  } else if (root.find("model_config")) {
    o.source = CheckpointSource::Ours;
    o.g_running = root.find("g_running");
  } else if (root.find("g_running")) {
    o.source = CheckpointSource::ReferenceTraining;
    o.g_running = root.find("g_running");
  } else if (root.find("generator.progression.0.conv1.input")) {
    o.source = CheckpointSource::ReferenceGenerator;
    o.g_running = &root;
  } else {
    throw InputError(path, "not a StyleGAN checkpoint: it holds neither g_running nor a generator state dict (it "
                           "holds " + short_list(root.keys()) + ")");
  }
  if (!o.g_running || !o.g_running->is(PyValue::Kind::Dict))
    throw InputError(path, "checkpoint's g_running is a " + (o.g_running ? o.g_running->describe() : "missing value") +
                               ", not a state dict");
  return o;
}

// Format 1 numbered the discriminator's blocks from its largest size.
Rename format1_discriminator_names(const StyleGanConfig& config) {
  const int first = 9 - (config.steps() + 1);
  return [first](const std::string& key) {
    for (const std::string prefix : {"progression.", "from_rgb."}) {
      if (key.rfind(prefix, 0) != 0) continue;
      const size_t dot = key.find('.', prefix.size());
      const int index = std::stoi(key.substr(prefix.size(), dot - prefix.size()));
      return prefix + std::to_string(index - first) + key.substr(dot);
    }
    return key;
  };
}

// Format 1: a LibTorch archive in a str.
void load_archived_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes, torch::Device device,
                             const std::string& file) {
  try {
    torch::serialize::InputArchive archive;
    std::istringstream in(bytes);
    archive.load_from(in, device);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    throw InputError(file, std::string("checkpoint's optimiser state is unreadable: ") + e.what_without_backtrace());
  }
}

// The configuration of a reference generator, from its tensors.
StyleGanConfig infer_config(const PyValue& g, const PyValue* d, const std::string& path) {
  auto shape = [&](const std::string& key) -> std::vector<int64_t> {
    const torch::Tensor* t = tensor_at(g, key);
    if (!t) throw InputError(path, "g_running lacks " + key + ": not a StyleGAN generator");
    return t->sizes().vec();
  };
  StyleGanConfig c;
  const auto input = shape("generator.progression.0.conv1.input");
  const auto rgb = shape("generator.to_rgb.0.conv.weight_orig");
  const auto mapping = shape("style.1.linear.weight_orig");
  if (input.size() != 4 || rgb.size() != 4 || mapping.size() != 2 || input[1] < 1 || input[1] > 512 || rgb[0] < 1 ||
      rgb[0] > 4 || mapping[1] < 1 || mapping[1] > 4096)
    throw InputError(path, "g_running's shapes are not a StyleGAN generator's");
  c.max_channels = static_cast<int>(input[1]);
  c.image_channels = static_cast<int>(rgb[0]);
  c.style_dim = static_cast<int>(mapping[1]);
  c.n_mlp = 0;
  while (c.n_mlp < 64 && g.find("style." + std::to_string(2 * c.n_mlp + 1) + ".linear.weight_orig")) ++c.n_mlp;
  int blocks = 0;
  while (blocks < 9 && g.find("generator.progression." + std::to_string(blocks) + ".conv2.conv.bias")) ++blocks;
  if (blocks == 0) throw InputError(path, "g_running has no synthesis blocks");
  c.max_size = size_for_step(blocks - 1);
  if (d) c.from_rgb_activate = d->find("from_rgb.8.0.conv.weight_orig") != nullptr || d->find("from_rgb.0.0.conv.weight_orig");
  return c;
}

// The largest block a reference generator trained: noise weights start at
// zero and move as soon as their block is in the forward pass.
int trained_step_from_noise(const PyValue& g) {
  int trained = 0;
  for (int i = 0; i < 9; ++i)
    for (const char* layer : {"noise1", "noise2"}) {
      const torch::Tensor* t = tensor_at(g, "generator.progression." + std::to_string(i) + "." + layer + ".weight_orig");
      if (t && t->numel() > 0 && t->abs().max().item<double>() > 0) trained = i;
    }
  return trained;
}

std::string size_text(int step) {
  const int s = size_for_step(step);
  return std::to_string(s) + "x" + std::to_string(s);
}

CheckpointMeta meta_of(const Opened& o, const std::string& path) {
  const PyValue& root = *o.file.root;
  CheckpointMeta meta;
  meta.source = o.source;
  if (o.source == CheckpointSource::Ours) {
    meta.model = parse_config(require_string(root, "model_config", path), path);
    meta.train_config = require_string(root, "train_config", path);
    if (root.find("trained_step")) {
      meta.trained_step = static_cast<int>(require_int(root, "trained_step", path));
      meta.alpha = require_double(root, "trained_alpha", path);
    } else {
      TrainPosition p;
      p.schedule.step = static_cast<int>(require_int(root, "step", path));
      p.schedule.used_sample = static_cast<uint64_t>(require_int(root, "used_sample", path));
      p.schedule.first_stage_without_fade = require_bool(root, "first_stage_without_fade", path);
      p.alpha = require_double(root, "alpha", path);
      std::tie(meta.trained_step, meta.alpha) = trained_top(p);
    }
    if (meta.trained_step < 0 || meta.trained_step > meta.model.steps())
      throw InputError(path, "checkpoint's trained size lies outside its model");
    const size_t at = meta.train_config.find("init_size=");
    if (at != std::string::npos) meta.init_size = std::atoi(meta.train_config.c_str() + at + 10);
    return meta;
  }
  const PyValue* d = o.source == CheckpointSource::ReferenceTraining ? root.find("discriminator") : nullptr;
  meta.model = infer_config(*o.g_running, d, path);
  meta.trained_step = trained_step_from_noise(*o.g_running);
  meta.alpha = 1.0;
  meta.init_size = 8;
  meta.note = std::string(o.source == CheckpointSource::ReferenceTraining ? "a reference train_step checkpoint"
                                                                          : "a reference g_running file") +
              " (no schedule position: trained to " + size_text(meta.trained_step) +
              " by its noise weights, drawn at alpha 1)";
  return meta;
}

}  // namespace

void save_checkpoint(const std::vector<std::string>& paths, StepModels& models, const TrainPosition& position,
                     const std::mt19937_64& rng, const CheckpointMeta& meta) {
  const ReferenceLayout& layout = reference_layout(models.generator->config);
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("generator", reference_state_dict(*models.generator, layout.generator_keys, layout.generator_fill));
  dict.insert("discriminator",
              reference_state_dict(*models.discriminator, layout.discriminator_keys, layout.discriminator_fill));
  dict.insert("g_optimizer", optimizer_state_dict(*models.g_optimizer, *models.generator, layout.generator_groups, {{1, 0.01}}));
  dict.insert("d_optimizer",
              optimizer_state_dict(*models.d_optimizer, *models.discriminator, layout.discriminator_groups));
  dict.insert("g_running", reference_state_dict(*models.ema, layout.generator_keys, layout.generator_fill));
  dict.insert("format_version", kFormatVersion);
  insert_run_position(dict, position);
  dict.insert("step", static_cast<int64_t>(position.schedule.step));
  dict.insert("used_sample", static_cast<int64_t>(position.schedule.used_sample));
  dict.insert("first_stage_without_fade", position.schedule.first_stage_without_fade);
  dict.insert("finished", position.schedule.finished);
  dict.insert("alpha", position.alpha);
  const auto [trained_step, trained_alpha] = trained_top(position);
  dict.insert("trained_step", static_cast<int64_t>(trained_step));
  dict.insert("trained_alpha", trained_alpha);
  c10::List<int64_t> block_images;
  for (uint64_t n : position.block_images) block_images.push_back(static_cast<int64_t>(n));
  dict.insert("ema_block_images", block_images);
  insert_augment_state(dict, position.augment);
  insert_rng_states(dict, rng);
  dict.insert("model_config", config_text(meta.model));
  dict.insert("train_config", meta.train_config);

  write_checkpoint_files(dict, paths);
}

CheckpointMeta read_checkpoint_meta(const std::string& path) { return meta_of(open_checkpoint(path), path); }

LoadReport load_checkpoint(const std::string& path, StepModels& models, TrainPosition& position, std::mt19937_64& rng) {
  const Opened o = open_checkpoint(path);
  const PyValue& root = *o.file.root;
  const CheckpointMeta meta = meta_of(o, path);
  const StyleGanConfig& config = models.generator->config;
  const ReferenceLayout& layout = reference_layout(config);
  LoadReport report;
  report.source = o.source;
  report.trained_step = std::min(meta.trained_step, config.steps());

  if (o.source == CheckpointSource::ReferenceGenerator) {
    load_module_state(*models.generator, root, path, "g_running");
    load_module_state(*models.ema, root, path, "g_running");
    report.note = "a reference g_running file: generator and its average from it; discriminator and optimisers fresh; "
                  "no schedule position";
    return report;
  }

  const int64_t format = root.find("format_version") ? require_int(root, "format_version", path) : 1;
  if (o.source == CheckpointSource::Ours && format > kFormatVersion)
    throw InputError(path, "checkpoint format " + std::to_string(format) + " is newer than this program's");
  const bool format1 = o.source == CheckpointSource::Ours && format == 1;
  load_module_state(*models.generator, require(root, "generator", path), path, "generator");
  load_module_state(*models.discriminator, require(root, "discriminator", path), path, "discriminator",
                    format1 ? format1_discriminator_names(config) : Rename{});
  load_module_state(*models.ema, *o.g_running, path, "g_running");
  report.discriminator = true;

  const PyValue& g_optimizer = require(root, "g_optimizer", path);
  const PyValue& d_optimizer = require(root, "d_optimizer", path);
  if (g_optimizer.is(PyValue::Kind::String) && d_optimizer.is(PyValue::Kind::String)) {
    const torch::Device device = models.generator->parameters().front().device();
    load_archived_optimizer(*models.g_optimizer, g_optimizer.text, device, path);
    load_archived_optimizer(*models.d_optimizer, d_optimizer.text, device, path);
  } else {
    load_optimizer_state(*models.g_optimizer, *models.generator, g_optimizer, layout.generator_groups, path, "g_optimizer");
    load_optimizer_state(*models.d_optimizer, *models.discriminator, d_optimizer, layout.discriminator_groups, path,
                         "d_optimizer");
  }
  report.optimizers = true;

  if (o.source == CheckpointSource::ReferenceTraining) {
    report.note = "a reference train_step checkpoint: generator, discriminator, g_running and both optimisers loaded; "
                  "no schedule position, data order or RNG state";
    return report;
  }

  read_run_position(root, path, position);
  position.schedule.step = static_cast<int>(require_int(root, "step", path));
  position.schedule.used_sample = static_cast<uint64_t>(require_int(root, "used_sample", path));
  position.schedule.first_stage_without_fade = require_bool(root, "first_stage_without_fade", path);
  position.schedule.finished = require_bool(root, "finished", path);
  position.alpha = require_double(root, "alpha", path);
  if (position.schedule.step < 0 || position.schedule.step > config.steps())
    throw InputError(path, "checkpoint stands at " + size_text(std::max(0, position.schedule.step)) +
                               ", past this model's --max_size");
  position.block_images.assign(static_cast<size_t>(config.steps() + 1), 0);
  const PyValue* ages = root.find("ema_block_images");
  for (size_t i = 0; i < position.block_images.size(); ++i) {
    if (ages && ages->is(PyValue::Kind::List)) {
      if (i < ages->items.size() && ages->items[i]->is(PyValue::Kind::Int))
        position.block_images[i] = static_cast<uint64_t>(std::max<int64_t>(0, ages->items[i]->integer));
    } else if (static_cast<int>(i) <= report.trained_step) {
      position.block_images[i] = kFullyRampedImages;
    }
  }
  position.augment = read_augment_state(root, path);
  restore_rng_states(root, path, rng);
  report.position = true;
  return report;
}

void load_ema_generator(const std::string& path, StyledGenerator& generator, bool raw) {
  const Opened o = open_checkpoint(path);
  if (!raw) {
    load_module_state(*generator, *o.g_running, path, "g_running");
    return;
  }
  if (o.source == CheckpointSource::ReferenceGenerator)
    throw InputError(path, "a reference g_running file holds no raw generator");
  load_module_state(*generator, require(*o.file.root, "generator", path), path, "generator");
}

}  // namespace sg::stylegan
