#pragma once
// Reading and writing PyTorch state dicts and Adam state dicts through our
// torch.save reader (model/core/torch_file.hpp) and torch::pickle_save:
// what every checkpoint format shares.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/augment/adaptive.hpp"
#include "model/core/torch_file.hpp"
#include "model/core/train_position.hpp"

namespace sg {

using Keys = std::vector<std::string>;

// PyTorch's Adam.state_dict(): {'state': {id: {'step', 'exp_avg',
// 'exp_avg_sq'}}, 'param_groups': [{'lr', 'betas', ..., 'params': [id...]}]},
// ids numbering the parameters of `groups` (names in `model`) group by
// group; a name the model lacks keeps its id without a state. `group_mult`
// adds a 'mult' entry to the groups it names.
c10::impl::GenericDict optimizer_state_dict(torch::optim::Adam& optimizer, const torch::nn::Module& model,
                                            const std::vector<Keys>& groups,
                                            const std::map<size_t, double>& group_mult = {});

// Every parameter and buffer of `module` in state_dict order, on the CPU.
c10::impl::GenericDict module_state_dict(const torch::nn::Module& module);

// The parameter names of `module`, in order, each prefixed.
Keys prefixed_parameter_names(const torch::nn::Module& module, const std::string& prefix);

// At most six keys, then how many: for messages.
std::string short_list(const std::vector<std::string>& keys);

// A dict's entry, or InputError naming the file and the key; typed forms
// accept what Python would have written for the type.
const PyValue& require(const PyValue& dict, const std::string& key, const std::string& path);
int64_t require_int(const PyValue& dict, const std::string& key, const std::string& path);
double require_double(const PyValue& dict, const std::string& key, const std::string& path);
bool require_bool(const PyValue& dict, const std::string& key, const std::string& path);
const std::string& require_string(const PyValue& dict, const std::string& key, const std::string& path);
const torch::Tensor* tensor_at(const PyValue& dict, const std::string& key);

// A model's name for a key -> the name it has in the file.
using Rename = std::function<std::string(const std::string&)>;

// Copies the file's tensors into every parameter and buffer of `module`.
// A missing key, a shape that differs or a non-float tensor is an
// InputError naming the file, `what` and the key.
void load_module_state(torch::nn::Module& module, const PyValue& dict, const std::string& file, const std::string& what,
                       const Rename& saved_name = {});

// PyTorch's Adam state dict into ours, parameter by parameter: position k
// of saved group g is the parameter named groups[g][k].
void load_optimizer_state(torch::optim::Adam& optimizer, const torch::nn::Module& model, const PyValue& saved,
                          const std::vector<Keys>& groups, const std::string& file, const std::string& what);

// The trainer's RNG and torch's default CPU generator under "rng" and
// "torch_rng", as every checkpoint of ours stores them for an exact resume.
void insert_rng_states(c10::impl::GenericDict& dict, const std::mt19937_64& rng);
// Restores both from a checkpoint's root dict; InputError naming the file
// when either is missing or unreadable.
void restore_rng_states(const PyValue& root, const std::string& path, std::mt19937_64& rng);

// ADA's state under "ada_aug_p" (stylegan2-pytorch's name for p), "ada_r_t",
// "ada_sign_sum" and "ada_images".
void insert_augment_state(c10::impl::GenericDict& dict, const AugmentState& state);
// What the file holds of it; a file from before ADA (or the reference's
// without our keys) leaves the rest at zero.
AugmentState read_augment_state(const PyValue& root, const std::string& path);

// A model configuration as checkpoints store it: integers separated by
// spaces. read_numbers fills `values` in order; false when the text does not
// hold exactly that many integers.
std::string numbers_text(const std::vector<int64_t>& values);
bool read_numbers(const std::string& text, const std::vector<int*>& values);

// Where a run stands, as every checkpoint of ours stores it beside the
// networks: "iteration", "images_seen", "data_epoch" and "data_batch", and
// "data_card" (the training data's card digest) when known.
void insert_run_position(c10::impl::GenericDict& dict, const TrainPosition& position);
// Reads them back (InputError naming the file when one is missing).
void read_run_position(const PyValue& root, const std::string& path, TrainPosition& position);

// The card digest of the data a checkpoint of ours trained on ("" for a
// reference file or one written before cards).
std::string checkpoint_data_card(const std::string& path);

// Serialises `dict` once and writes it atomically under each of `paths`.
void write_checkpoint_files(const c10::impl::GenericDict& dict, const std::vector<std::string>& paths);

}  // namespace sg
