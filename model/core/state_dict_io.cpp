#include "model/core/state_dict_io.hpp"

#include <sstream>
#include <unordered_map>

#include "common/atomic_file.hpp"
#include "common/errors.hpp"
#include "model/core/adam_step.hpp"
#include "model/core/state_order.hpp"

namespace sg {

c10::impl::GenericDict optimizer_state_dict(torch::optim::Adam& optimizer, const torch::nn::Module& model,
                                            const std::vector<Keys>& groups, const std::map<size_t, double>& group_mult) {
  const auto params = model.named_parameters();
  c10::impl::GenericDict state(c10::IntType::get(), c10::AnyType::get());
  c10::impl::GenericList param_groups(c10::AnyType::get());
  int64_t id = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(optimizer.param_groups().at(g).options());
    c10::List<int64_t> ids;
    for (const std::string& name : groups[g]) {
      if (const torch::Tensor* p = params.find(name))
        if (const torch::optim::AdamParamState* s = find_adam_state(optimizer, *p)) {
          c10::impl::GenericDict entry(c10::StringType::get(), c10::AnyType::get());
          entry.insert("step", torch::tensor(static_cast<float>(s->step())));
          entry.insert("exp_avg", s->exp_avg().detach().to(torch::kCPU).contiguous());
          entry.insert("exp_avg_sq", s->exp_avg_sq().detach().to(torch::kCPU).contiguous());
          state.insert(id, entry);
        }
      ids.push_back(id++);
    }
    c10::impl::GenericDict group(c10::StringType::get(), c10::AnyType::get());
    group.insert("lr", options.lr());
    group.insert("betas", c10::ivalue::Tuple::create(std::get<0>(options.betas()), std::get<1>(options.betas())));
    group.insert("eps", options.eps());
    group.insert("weight_decay", options.weight_decay());
    group.insert("amsgrad", options.amsgrad());
    group.insert("maximize", false);
    group.insert("foreach", c10::IValue());
    group.insert("capturable", false);
    group.insert("differentiable", false);
    group.insert("fused", false);
    group.insert("params", ids);
    if (auto mult = group_mult.find(g); mult != group_mult.end()) group.insert("mult", mult->second);
    param_groups.push_back(group);
  }
  c10::impl::GenericDict out(c10::StringType::get(), c10::AnyType::get());
  out.insert("state", state);
  out.insert("param_groups", param_groups);
  return out;
}

c10::impl::GenericDict module_state_dict(const torch::nn::Module& module) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : ordered_state(module)) dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
  return c10::impl::toGenericDict(dict);
}

Keys prefixed_parameter_names(const torch::nn::Module& module, const std::string& prefix) {
  Keys names;
  for (const auto& p : module.named_parameters()) names.push_back(prefix + p.key());
  return names;
}

std::string short_list(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < 6; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > 6) out += ", ... (" + std::to_string(keys.size()) + " keys)";
  return out.empty() ? "nothing" : out;
}

const PyValue& require(const PyValue& dict, const std::string& key, const std::string& path) {
  const PyValue* v = dict.find(key);
  if (!v) throw InputError(path, "checkpoint lacks \"" + key + "\"");
  return *v;
}

int64_t require_int(const PyValue& dict, const std::string& key, const std::string& path) {
  const PyValue& v = require(dict, key, path);
  if (v.is(PyValue::Kind::Int)) return v.integer;
  if (v.is(PyValue::Kind::Bool)) return v.boolean;
  throw InputError(path, "checkpoint's \"" + key + "\" is a " + v.describe() + ", not an integer");
}

double require_double(const PyValue& dict, const std::string& key, const std::string& path) {
  const PyValue& v = require(dict, key, path);
  if (v.is(PyValue::Kind::Float)) return v.real;
  if (v.is(PyValue::Kind::Int)) return static_cast<double>(v.integer);
  throw InputError(path, "checkpoint's \"" + key + "\" is a " + v.describe() + ", not a number");
}

bool require_bool(const PyValue& dict, const std::string& key, const std::string& path) {
  const PyValue& v = require(dict, key, path);
  if (v.is(PyValue::Kind::Bool)) return v.boolean;
  if (v.is(PyValue::Kind::Int)) return v.integer != 0;
  throw InputError(path, "checkpoint's \"" + key + "\" is a " + v.describe() + ", not a bool");
}

const std::string& require_string(const PyValue& dict, const std::string& key, const std::string& path) {
  const PyValue& v = require(dict, key, path);
  if (!v.is(PyValue::Kind::String)) throw InputError(path, "checkpoint's \"" + key + "\" is a " + v.describe() + ", not a string");
  return v.text;
}

const torch::Tensor* tensor_at(const PyValue& dict, const std::string& key) {
  const PyValue* v = dict.find(key);
  return v && v->is(PyValue::Kind::Tensor) ? &v->tensor : nullptr;
}


void load_module_state(torch::nn::Module& module, const PyValue& dict, const std::string& file, const std::string& what,
                       const Rename& saved_name) {
  if (!dict.is(PyValue::Kind::Dict))
    throw InputError(file, what + " is a " + dict.describe() + ", not a state dict");
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& key, torch::Tensor& target) {
    const std::string saved = saved_name ? saved_name(key) : key;
    const PyValue* value = dict.find(saved);
    if (!value) throw InputError(file, what + " lacks " + saved + ": the checkpoint is of another model");
    if (!value->is(PyValue::Kind::Tensor)) throw InputError(file, what + "." + saved + " is a " + value->describe());
    if (value->tensor.sizes() != target.sizes()) {
      std::ostringstream s;
      s << what << "." << saved << " has shape " << value->tensor.sizes() << " in the checkpoint but "
        << target.sizes() << " in this model (check --channels, --max_size, the image channels)";
      throw InputError(file, s.str());
    }
    if (!value->tensor.is_floating_point() && target.is_floating_point())
      throw InputError(file, what + "." + saved + " is not a floating-point tensor");
    target.copy_(value->tensor);
  };
  for (auto& p : module.named_parameters()) assign(p.key(), p.value());
  for (auto& b : module.named_buffers()) assign(b.key(), b.value());
}

void load_optimizer_state(torch::optim::Adam& optimizer, const torch::nn::Module& model, const PyValue& saved,
                          const std::vector<Keys>& groups, const std::string& file, const std::string& what) {
  const PyValue* state = saved.find("state");
  const PyValue* saved_groups = saved.find("param_groups");
  if (!state || !state->is(PyValue::Kind::Dict) || !saved_groups || !saved_groups->is(PyValue::Kind::List))
    throw InputError(file, what + " is not an optimiser state dict (no state and param_groups)");
  if (saved_groups->items.size() != groups.size())
    throw InputError(file, what + " has " + std::to_string(saved_groups->items.size()) + " parameter groups, this model " +
                               std::to_string(groups.size()));
  std::unordered_map<int64_t, const PyValue*> by_id;
  for (const auto& [key, value] : state->entries)
    if (key->is(PyValue::Kind::Int)) by_id[key->integer] = value;
  const auto params = model.named_parameters();
  for (size_t g = 0; g < groups.size(); ++g) {
    const PyValue* ids = saved_groups->items[g]->find("params");
    if (!ids || !ids->is(PyValue::Kind::List))
      throw InputError(file, what + "'s parameter group " + std::to_string(g) + " has no params list");
    if (ids->items.size() != groups[g].size())
      throw InputError(file, what + "'s parameter group " + std::to_string(g) + " holds " +
                                 std::to_string(ids->items.size()) + " parameters where the model has " +
                                 std::to_string(groups[g].size()) + ": the checkpoint is of another model");
    for (size_t k = 0; k < groups[g].size(); ++k) {
      const torch::Tensor* p = params.find(groups[g][k]);
      if (!p || !ids->items[k]->is(PyValue::Kind::Int)) continue;
      auto found = by_id.find(ids->items[k]->integer);
      if (found == by_id.end() || !found->second->is(PyValue::Kind::Dict)) continue;
      const PyValue& entry = *found->second;
      const torch::Tensor* exp_avg = tensor_at(entry, "exp_avg");
      const torch::Tensor* exp_avg_sq = tensor_at(entry, "exp_avg_sq");
      const PyValue* step = entry.find("step");
      if (!exp_avg || !exp_avg_sq || !step)
        throw InputError(file, what + "'s state of " + groups[g][k] + " lacks step, exp_avg or exp_avg_sq");
      if (exp_avg->sizes() != p->sizes() || exp_avg_sq->sizes() != p->sizes())
        throw InputError(file, what + "'s moments of " + groups[g][k] + " have another shape than the parameter");
      double steps = 0;
      if (step->is(PyValue::Kind::Int))
        steps = static_cast<double>(step->integer);
      else if (step->is(PyValue::Kind::Float))
        steps = step->real;
      else if (step->is(PyValue::Kind::Tensor) && step->tensor.numel() == 1)
        steps = step->tensor.item<double>();
      else
        throw InputError(file, what + "'s step of " + groups[g][k] + " is a " + step->describe());
      if (!(steps >= 0 && steps < 1e15)) throw InputError(file, what + "'s step of " + groups[g][k] + " is absurd");
      torch::NoGradGuard no_grad;
      auto& s = adam_state_of(optimizer, *p);
      s.step(static_cast<int64_t>(steps));
      s.exp_avg(torch::empty_like(*p, torch::MemoryFormat::Preserve).copy_(*exp_avg));
      s.exp_avg_sq(torch::empty_like(*p, torch::MemoryFormat::Preserve).copy_(*exp_avg_sq));
    }
  }
}

void insert_rng_states(c10::impl::GenericDict& dict, const std::mt19937_64& rng) {
  std::ostringstream rng_state;
  rng_state << rng;
  dict.insert("rng", rng_state.str());
  dict.insert("torch_rng", at::detail::getDefaultCPUGenerator().get_state());
}

void insert_augment_state(c10::impl::GenericDict& dict, const AugmentState& state) {
  dict.insert("ada_aug_p", state.p);
  dict.insert("ada_r_t", state.r_t);
  dict.insert("ada_sign_sum", state.sign_sum);
  dict.insert("ada_images", state.images);
}

AugmentState read_augment_state(const PyValue& root, const std::string& path) {
  AugmentState state;
  if (root.find("ada_aug_p")) state.p = require_double(root, "ada_aug_p", path);
  if (root.find("ada_r_t")) state.r_t = require_double(root, "ada_r_t", path);
  if (root.find("ada_sign_sum")) state.sign_sum = require_double(root, "ada_sign_sum", path);
  if (root.find("ada_images")) state.images = require_int(root, "ada_images", path);
  if (!(state.p >= 0 && state.p <= 1) || state.images < 0)
    throw InputError(path, "checkpoint's augmentation state is out of range (ada_aug_p " + std::to_string(state.p) + ")");
  // stylegan2-pytorch lets p reach 1.
  state.p = std::min(state.p, max_augment_probability());
  return state;
}

void restore_rng_states(const PyValue& root, const std::string& path, std::mt19937_64& rng) {
  std::istringstream rng_state(require_string(root, "rng", path));
  rng_state >> rng;
  if (!rng_state) throw InputError(path, "checkpoint's rng state is unreadable");
  const PyValue& torch_rng = require(root, "torch_rng", path);
  if (!torch_rng.is(PyValue::Kind::Tensor)) throw InputError(path, "checkpoint's torch_rng is not a tensor");
  try {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(torch_rng.tensor.contiguous());
  } catch (const c10::Error& e) {
    throw InputError(path, std::string("checkpoint's torch_rng is unreadable: ") + e.what_without_backtrace());
  }
}

void write_checkpoint_files(const c10::impl::GenericDict& dict, const std::vector<std::string>& paths) {
  // Serialised once, however many names it is written under.
  const std::vector<char> bytes = torch::pickle_save(dict);
  for (const std::string& path : paths)
    write_file_atomically(path, std::string_view(bytes.data(), bytes.size()), "checkpoint");
}

std::string numbers_text(const std::vector<int64_t>& values) {
  std::string text;
  for (int64_t v : values) text += (text.empty() ? "" : " ") + std::to_string(v);
  return text;
}

bool read_numbers(const std::string& text, const std::vector<int*>& values) {
  std::istringstream s(text);
  for (int* v : values)
    if (!(s >> *v)) return false;
  std::string rest;
  return !(s >> rest);
}

void insert_run_position(c10::impl::GenericDict& dict, const TrainPosition& position) {
  dict.insert("iteration", position.iteration);
  dict.insert("images_seen", static_cast<int64_t>(position.images_seen));
  dict.insert("data_epoch", static_cast<int64_t>(position.data_epoch));
  dict.insert("data_batch", static_cast<int64_t>(position.data_batch));
  if (!position.data_card.empty()) dict.insert("data_card", position.data_card);
}

void read_run_position(const PyValue& root, const std::string& path, TrainPosition& position) {
  position.iteration = require_int(root, "iteration", path);
  position.images_seen = static_cast<uint64_t>(require_int(root, "images_seen", path));
  position.data_epoch = static_cast<uint64_t>(require_int(root, "data_epoch", path));
  position.data_batch = static_cast<uint64_t>(require_int(root, "data_batch", path));
  position.data_card = root.find("data_card") ? require_string(root, "data_card", path) : "";
}

std::string checkpoint_data_card(const std::string& path) {
  const TorchFile file = read_torch_file(path);
  return file.root && file.root->find("data_card") ? require_string(*file.root, "data_card", path) : "";
}

}  // namespace sg
