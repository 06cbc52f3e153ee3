#pragma once
// Reads what Python's torch.save writes — the zip container of PyTorch >= 1.6
// and the legacy stream before it — into a tree of plain values, without
// running any Python. LibTorch's own pickle_load cannot read a Python state
// dict (it turns collections.OrderedDict into None and then asserts), and a
// checkpoint is a user's file: only the globals a state dict or optimiser
// state needs are understood (OrderedDict, the tensor rebuilders, storage
// types); any other object (argparse.Namespace, ...) becomes an opaque value
// that is an error only when something reads it.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sg {

struct PyValue;
// Values live in their file's arena (TorchFile): no reference counting, so a
// pickle that nests or cycles its containers cannot overflow the stack on
// destruction or leak.
using PyRef = PyValue*;

struct PyValue {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Tensor, Storage, Global, Object };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  std::string text;              // String, Bytes; Global and Object: "module.name"
  std::vector<PyRef> items;      // Tuple, List; Object: its constructor arguments
  std::vector<std::pair<PyRef, PyRef>> entries;  // Dict, in insertion order
  at::Tensor tensor;             // Tensor; Storage: its 1-D data

  bool is(Kind k) const { return kind == k; }
  // The value of string key `key` in a Dict (nullptr when absent or not a Dict).
  const PyValue* find(std::string_view key) const;
  // The string keys of a Dict, in order.
  std::vector<std::string> keys() const;
  // "dict", "tensor", "argparse.Namespace object", ...: for messages.
  std::string describe() const;

  std::unordered_map<std::string, size_t> string_index;  // Dict: string key -> entries index
};

struct TorchFile {
  std::vector<std::unique_ptr<PyValue>> arena;
  const PyValue* root = nullptr;
};

// The object a torch.save file holds. Throws InputError naming the file and
// what is wrong (not a torch.save file, truncated, an unsupported opcode, a
// tensor outside its storage, ...); never an internal assertion.
TorchFile read_torch_file(const std::string& path);
// The same from bytes already in memory; `name` is used in messages.
TorchFile read_torch_bytes(std::string_view bytes, const std::string& name);

}  // namespace sg
