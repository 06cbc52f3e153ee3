#include "model/stylegan2/checkpoint.hpp"

#include <filesystem>
#include <sstream>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "model/core/state_dict_io.hpp"
#include "model/core/torch_file.hpp"

namespace sg::stylegan2 {

namespace {

constexpr int64_t kFormatVersion = 1;

// Six numbers; a seventh, the discriminator's width cap, only where it
// differs from the generator's (files from before it stay readable).
std::string config_text(const Config& c) {
  std::vector<int64_t> numbers = {c.size, c.max_channels, c.image_channels, c.style_dim, c.n_mlp, c.channel_multiplier};
  if (c.discriminator_cap() != c.max_channels) numbers.push_back(c.discriminator_cap());
  return numbers_text(numbers);
}

Config parse_config(const std::string& text, const std::string& path) {
  Config c;
  std::vector<int*> fields = {&c.size, &c.max_channels, &c.image_channels, &c.style_dim, &c.n_mlp, &c.channel_multiplier};
  const bool six = read_numbers(text, fields);
  fields.push_back(&c.d_max_channels);
  if (!six && !read_numbers(text, fields))
    throw InputError(path, "checkpoint's model_config is unreadable: \"" + text + "\"");
  if (!six && c.d_max_channels < 1)
    throw InputError(path, "checkpoint's model_config has a discriminator width of " + std::to_string(c.d_max_channels));
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw InputError(path, std::string("checkpoint's model_config: ") + e.what());
  }
  if (c.max_channels > 4096 || c.d_max_channels > 4096 || c.style_dim > 4096 || c.n_mlp > 64 || c.image_channels > 4)
    throw InputError(path, "checkpoint's model_config is absurd: \"" + text + "\"");
  return c;
}

// "--channels 32 in the file, 512 here; ..." for every field that differs.
std::string describe_differences(const Config& file, const Config& here) {
  std::string out;
  auto compare = [&](const char* what, int a, int b) {
    if (a != b) out += (out.empty() ? "" : "; ") + std::string(what) + " " + std::to_string(a) + " in the file, " +
                       std::to_string(b) + " here";
  };
  compare("--size", file.size, here.size);
  compare("--channels", file.max_channels, here.max_channels);
  compare("--d_channels", file.discriminator_cap(), here.discriminator_cap());
  compare("image channels (the LMDB's)", file.image_channels, here.image_channels);
  compare("style size", file.style_dim, here.style_dim);
  compare("--n_mlp", file.n_mlp, here.n_mlp);
  compare("--channel_multiplier", file.channel_multiplier, here.channel_multiplier);
  compare("classes (--cond)", file.classes, here.classes);
  return out;
}

struct Opened {
  TorchFile file;
  const PyValue* g_ema = nullptr;
  bool ours = false;
};

Opened open_checkpoint(const std::string& path) {
  Opened o;
  o.file = read_torch_file(path);
  const PyValue& root = *o.file.root;
  if (!root.is(PyValue::Kind::Dict))
    throw InputError(path, "not a StyleGAN2 checkpoint: the file holds a " + root.describe() + ", not a dict");
  if (root.find("g_running") || root.find("generator.progression.0.conv1.input"))
    throw InputError(path, "a StyleGAN checkpoint (g_running), not a StyleGAN2 one: give no --arch stylegan2");
  o.g_ema = root.find("g_ema");
  if (!o.g_ema)
    throw InputError(path, "not a StyleGAN2 checkpoint: it holds no g_ema (it holds " + short_list(root.keys()) + ")");
  if (!o.g_ema->is(PyValue::Kind::Dict))
    throw InputError(path, "checkpoint's g_ema is a " + o.g_ema->describe() + ", not a state dict");
  o.ours = root.find("model_config") != nullptr;
  return o;
}

std::vector<int64_t> shape_of(const PyValue& dict, const std::string& key, const std::string& path) {
  const torch::Tensor* t = tensor_at(dict, key);
  if (!t) throw InputError(path, "g_ema lacks " + key + ": not a StyleGAN2 generator");
  return t->sizes().vec();
}

// A reference generator's configuration from its tensors: StyleGAN's
// inference (stylegan/checkpoint.cpp) over StyleGAN2's key names, the same
// three shapes telling the width, the image channels and the style size.
Config infer_config(const PyValue& g, const std::string& path) {
  Config c;
  const auto input = shape_of(g, "input.input", path);
  const auto rgb = shape_of(g, "to_rgb1.bias", path);
  const auto mapping = shape_of(g, "style.1.weight", path);
  if (input.size() != 4 || rgb.size() != 4 || mapping.size() != 2 || input[1] < 1 || input[1] > 4096 || rgb[1] < 1 ||
      rgb[1] > 4 || mapping[1] < 1 || mapping[1] > 4096)
    throw InputError(path, "g_ema's shapes are not a StyleGAN2 generator's");
  c.max_channels = static_cast<int>(input[1]);
  c.image_channels = static_cast<int>(rgb[1]);
  c.style_dim = static_cast<int>(mapping[1]);
  c.n_mlp = 0;
  while (c.n_mlp < 64 && g.find("style." + std::to_string(c.n_mlp + 1) + ".weight")) ++c.n_mlp;
  int to_rgbs = 0;
  while (to_rgbs < 16 && g.find("to_rgbs." + std::to_string(to_rgbs) + ".bias")) ++to_rgbs;
  c.size = 4 << to_rgbs;
  // The multiplier shows where a layer is narrower than the cap: channels
  // at resolution r >= 64 are 256 * multiplier / (r / 64).
  c.channel_multiplier = 2;
  for (int log = 6; log <= c.log_size(); ++log) {
    const auto w = shape_of(g, "convs." + std::to_string((log - 3) * 2) + ".conv.weight", path);
    const int64_t channels = w.size() == 5 ? w[1] : 0;
    if (channels < c.max_channels) {
      c.channel_multiplier = static_cast<int>(channels * (int64_t{1} << (log - 6)) / 256);
      break;
    }
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw InputError(path, std::string("g_ema: ") + e.what());
  }
  return c;
}

// "class_names": a list of strings in a conditional checkpoint of ours.
std::vector<std::string> read_class_names(const PyValue& root, const std::string& path) {
  std::vector<std::string> names;
  const PyValue* list = root.find("class_names");
  if (!list) return names;
  if (!list->is(PyValue::Kind::List) && !list->is(PyValue::Kind::Tuple))
    throw InputError(path, "checkpoint's class_names is a " + list->describe() + ", not a list");
  for (const PyValue* item : list->items) {
    if (!item->is(PyValue::Kind::String)) throw InputError(path, "checkpoint's class_names holds a " + item->describe());
    names.push_back(item->text);
  }
  return names;
}

CheckpointInfo info_of(const Opened& o, const std::string& path) {
  const PyValue& root = *o.file.root;
  CheckpointInfo info;
  info.ours = o.ours;
  if (o.ours) {
    info.config = parse_config(require_string(root, "model_config", path), path);
    info.train_config = require_string(root, "train_config", path);
    info.class_names = read_class_names(root, path);
    info.config.classes = static_cast<int>(info.class_names.size());
    try {
      info.config.validate();
    } catch (const std::invalid_argument& e) {
      throw InputError(path, std::string("checkpoint's class_names: ") + e.what());
    }
    info.iteration = require_int(root, "iteration", path);
    return info;
  }
  info.config = infer_config(*o.g_ema, path);
  // Its train.py names checkpoints by iteration (NNNNNN.pt) and resumes from the name.
  const std::string stem = std::filesystem::path(path).stem().string();
  if (!stem.empty() && stem.find_first_not_of("0123456789") == std::string::npos && stem.size() < 12)
    info.iteration = std::stoll(stem);
  info.note = "a reference stylegan2-pytorch checkpoint (" + std::to_string(info.config.size) + "x" +
              std::to_string(info.config.size) + ", no data order or RNG state; iteration " +
              std::to_string(info.iteration) + " from its name)";
  return info;
}

std::vector<Keys> single_group(const torch::nn::Module& module) { return {prefixed_parameter_names(module, "")}; }

c10::impl::GenericDict training_args(const Config& c, const SavedTraining& t) {
  c10::impl::GenericDict args(c10::StringType::get(), c10::AnyType::get());
  args.insert("size", static_cast<int64_t>(c.size));
  args.insert("latent", static_cast<int64_t>(c.style_dim));
  args.insert("n_mlp", static_cast<int64_t>(c.n_mlp));
  args.insert("channel_multiplier", static_cast<int64_t>(c.channel_multiplier));
  args.insert("batch", static_cast<int64_t>(t.batch));
  args.insert("lr", t.lr);
  args.insert("r1", t.regularization.r1);
  args.insert("path_regularize", t.regularization.path_weight);
  args.insert("path_batch_shrink", static_cast<int64_t>(t.regularization.path_batch_shrink));
  args.insert("d_reg_every", static_cast<int64_t>(t.regularization.d_every));
  args.insert("g_reg_every", static_cast<int64_t>(t.regularization.g_every));
  args.insert("mixing", t.mixing);
  args.insert("augment", false);
  args.insert("augment_p", 0.0);
  args.insert("loss", std::string(t.loss == Loss::WganGp ? "wgan-gp" : "r1"));
  return args;
}

}  // namespace

CheckpointInfo read_checkpoint_info(const std::string& path) { return info_of(open_checkpoint(path), path); }

void save_checkpoint(const std::vector<std::string>& paths, Models& models, const TrainPosition& position,
                     double path_mean, const std::mt19937_64& rng, const SavedTraining& training) {
  const Config& config = models.generator->config;
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("g", module_state_dict(*models.generator));
  dict.insert("d", module_state_dict(*models.discriminator));
  dict.insert("g_ema", module_state_dict(*models.ema));
  dict.insert("g_optim", optimizer_state_dict(*models.g_optimizer, *models.generator, single_group(*models.generator)));
  dict.insert("d_optim",
              optimizer_state_dict(*models.d_optimizer, *models.discriminator, single_group(*models.discriminator)));
  dict.insert("args", training_args(config, training));
  insert_augment_state(dict, position.augment);
  dict.insert("arch", std::string("stylegan2"));
  dict.insert("format_version", kFormatVersion);
  insert_run_position(dict, position);
  dict.insert("path_mean", path_mean);
  insert_rng_states(dict, rng);
  dict.insert("model_config", config_text(config));
  if (config.classes > 0) {
    if (training.class_names.size() != static_cast<size_t>(config.classes))
      throw std::invalid_argument("a conditional checkpoint needs its " + std::to_string(config.classes) + " class names");
    c10::List<std::string> names;
    for (const std::string& name : training.class_names) names.push_back(name);
    dict.insert("class_names", names);
  }
  dict.insert("train_config", training.train_config);
  write_checkpoint_files(dict, paths);
}

LoadReport load_checkpoint(const std::string& path, Models& models, TrainPosition& position, double& path_mean,
                           std::mt19937_64& rng) {
  const Opened o = open_checkpoint(path);
  const PyValue& root = *o.file.root;
  const CheckpointInfo info = info_of(o, path);
  const std::string differences = describe_differences(info.config, models.generator->config);
  if (!differences.empty()) throw InputError(path, "checkpoint's model differs from this one: " + differences);
  if (o.ours) {
    const int64_t format = require_int(root, "format_version", path);
    if (format > kFormatVersion)
      throw InputError(path, "checkpoint format " + std::to_string(format) + " is newer than this program's");
  }
  LoadReport report;
  report.source = o.ours ? CheckpointSource::Ours : CheckpointSource::ReferenceTraining;
  load_module_state(*models.generator, require(root, "g", path), path, "g");
  load_module_state(*models.discriminator, require(root, "d", path), path, "d");
  load_module_state(*models.ema, *o.g_ema, path, "g_ema");
  report.discriminator = true;
  load_optimizer_state(*models.g_optimizer, *models.generator, require(root, "g_optim", path),
                       single_group(*models.generator), path, "g_optim");
  load_optimizer_state(*models.d_optimizer, *models.discriminator, require(root, "d_optim", path),
                       single_group(*models.discriminator), path, "d_optim");
  report.optimizers = true;
  report.trained_step = info.config.log_size() - 2;
  position.iteration = info.iteration;
  position.augment = read_augment_state(root, path);
  if (!o.ours) {
    report.note = info.note;
    return report;
  }
  read_run_position(root, path, position);
  path_mean = require_double(root, "path_mean", path);
  restore_rng_states(root, path, rng);
  report.position = true;
  return report;
}

std::vector<std::string> checkpoint_class_names(const std::string& path) { return read_checkpoint_info(path).class_names; }

void load_generator(const std::string& path, Generator& generator, bool raw) {
  const Opened o = open_checkpoint(path);
  if (raw) {
    load_module_state(*generator, require(*o.file.root, "g", path), path, "g");
    return;
  }
  load_module_state(*generator, *o.g_ema, path, "g_ema");
}

}  // namespace sg::stylegan2
