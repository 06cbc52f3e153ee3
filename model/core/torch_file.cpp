#include "model/core/torch_file.hpp"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "common/errors.hpp"

namespace sg {

namespace {

// What is wrong with the bytes; read_torch_bytes adds the file name.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Arena = std::vector<std::unique_ptr<PyValue>>;

PyRef make(Arena& arena, PyValue::Kind kind) {
  // A state dict is a few thousand values; the bound keeps a hostile pickle's memory in check.
  if (arena.size() >= (1u << 23)) throw FormatError("a pickle of absurdly many values");
  arena.push_back(std::make_unique<PyValue>());
  arena.back()->kind = kind;
  return arena.back().get();
}

PyRef make_int(Arena& arena, int64_t i) {
  auto v = make(arena, PyValue::Kind::Int);
  v->integer = i;
  return v;
}

PyRef make_text(Arena& arena, PyValue::Kind kind, std::string text) {
  auto v = make(arena, kind);
  v->text = std::move(text);
  return v;
}

bool same_key(const PyValue& a, const PyValue& b, int depth = 0) {
  if (depth > 64) throw FormatError("a dict key nested too deep");
  if (a.kind != b.kind) {
    // Python: 1 == 1.0 == True as dict keys; only ints and bools meet in practice.
    const bool a_int = a.is(PyValue::Kind::Int) || a.is(PyValue::Kind::Bool);
    const bool b_int = b.is(PyValue::Kind::Int) || b.is(PyValue::Kind::Bool);
    return a_int && b_int && (a.is(PyValue::Kind::Int) ? a.integer : a.boolean) ==
                                 (b.is(PyValue::Kind::Int) ? b.integer : b.boolean);
  }
  switch (a.kind) {
    case PyValue::Kind::None: return true;
    case PyValue::Kind::Bool: return a.boolean == b.boolean;
    case PyValue::Kind::Int: return a.integer == b.integer;
    case PyValue::Kind::Float: return a.real == b.real;
    case PyValue::Kind::String:
    case PyValue::Kind::Bytes: return a.text == b.text;
    case PyValue::Kind::Tuple:
      if (a.items.size() != b.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i)
        if (!same_key(*a.items[i], *b.items[i], depth + 1)) return false;
      return true;
    default: return &a == &b;  // identity, as Python's default hash
  }
}

void set_item(PyValue& dict, PyRef key, PyRef value) {
  if (!dict.is(PyValue::Kind::Dict)) throw FormatError("SETITEM on a " + dict.describe() + ", not a dict");
  if (key->is(PyValue::Kind::String)) {
    auto [it, inserted] = dict.string_index.emplace(key->text, dict.entries.size());
    if (inserted)
      dict.entries.emplace_back(std::move(key), std::move(value));
    else
      dict.entries[it->second].second = std::move(value);
    return;
  }
  if (key->is(PyValue::Kind::List) || key->is(PyValue::Kind::Dict))
    throw FormatError("unhashable " + key->describe() + " as a dict key");
  for (auto& entry : dict.entries)
    if (same_key(*entry.first, *key)) {
      entry.second = std::move(value);
      return;
    }
  dict.entries.emplace_back(std::move(key), std::move(value));
}

at::ScalarType storage_dtype(const std::string& global) {
  static const std::pair<const char*, at::ScalarType> kTypes[] = {
      {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble}, {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16}, {"torch.LongStorage", at::kLong}, {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},     {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},
  };
  for (const auto& [name, type] : kTypes)
    if (global == name) return type;
  throw FormatError("unsupported storage type " + global);
}

// A persistent id ('storage', type, key, location, numel[, view]) as its parts.
struct StorageId {
  at::ScalarType dtype;
  std::string key;
  int64_t numel = 0;
  const PyValue* view = nullptr;  // legacy: (view_key, offset, size) or None
};

StorageId parse_storage_id(const PyValue& pid) {
  if (!pid.is(PyValue::Kind::Tuple) || pid.items.size() < 5 || !pid.items[0]->is(PyValue::Kind::String) ||
      pid.items[0]->text != "storage")
    throw FormatError("a persistent id that is not a storage");
  const PyValue& type = *pid.items[1];
  if (!type.is(PyValue::Kind::Global)) throw FormatError("a storage whose type is a " + type.describe());
  StorageId id;
  id.dtype = storage_dtype(type.text);
  const PyValue& key = *pid.items[2];
  if (key.is(PyValue::Kind::String))
    id.key = key.text;
  else if (key.is(PyValue::Kind::Int))
    id.key = std::to_string(key.integer);
  else
    throw FormatError("a storage key that is a " + key.describe());
  if (!pid.items[4]->is(PyValue::Kind::Int) || pid.items[4]->integer < 0) throw FormatError("a storage of no size");
  id.numel = pid.items[4]->integer;
  if (pid.items.size() > 5 && !pid.items[5]->is(PyValue::Kind::None)) id.view = pid.items[5];
  return id;
}

int64_t checked_int(const PyValue& v, const char* what) {
  if (v.is(PyValue::Kind::Int)) return v.integer;
  if (v.is(PyValue::Kind::Bool)) return v.boolean;
  throw FormatError(std::string(what) + " is a " + v.describe() + ", not an integer");
}

std::vector<int64_t> int_tuple(const PyValue& v, const char* what) {
  if (!v.is(PyValue::Kind::Tuple) && !v.is(PyValue::Kind::List))
    throw FormatError(std::string(what) + " is a " + v.describe() + ", not a tuple");
  std::vector<int64_t> out;
  for (const auto& item : v.items) out.push_back(checked_int(*item, what));
  return out;
}

// storage[offset:] viewed with `size` and `stride`, after checking that the
// view stays inside the storage.
at::Tensor view_storage(const PyValue& storage, const PyValue& offset_value, const PyValue& size_value,
                        const PyValue& stride_value) {
  if (!storage.is(PyValue::Kind::Storage)) throw FormatError("a tensor built from a " + storage.describe());
  const int64_t offset = checked_int(offset_value, "a storage offset");
  const auto size = int_tuple(size_value, "a tensor size");
  const auto stride = int_tuple(stride_value, "a tensor stride");
  if (size.size() != stride.size()) throw FormatError("a tensor with " + std::to_string(size.size()) +
                                                      " sizes but " + std::to_string(stride.size()) + " strides");
  if (size.size() > 64) throw FormatError("a tensor of " + std::to_string(size.size()) + " dimensions");
  const int64_t numel = storage.tensor.numel();
  if (offset < 0 || offset > numel) throw FormatError("a tensor starting outside its storage");
  // The last element the view touches must lie inside the storage.
  int64_t last = offset;
  bool empty = false;
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] < 0 || stride[d] < 0) throw FormatError("a tensor with a negative size or stride");
    if (size[d] == 0) empty = true;
  }
  if (!empty) {
    for (size_t d = 0; d < size.size(); ++d) {
      const int64_t span = size[d] - 1;
      if (stride[d] != 0 && span > (std::numeric_limits<int64_t>::max() - last) / stride[d])
        throw FormatError("a tensor reaching past its storage");
      last += span * stride[d];
    }
    if (last >= numel) throw FormatError("a tensor reaching past its storage");
  }
  return storage.tensor.as_strided(size, stride, offset);
}

// Python's pickle virtual machine, protocols 2-5, over the opcodes that
// torch.save and LibTorch's pickler emit (no protocol-0 text opcodes).
class Unpickler {
 public:
  using PersistentLoad = std::function<PyRef(const PyValue&)>;
  Unpickler(Arena& arena, std::string_view data, PersistentLoad persistent_load)
      : arena_(arena), data_(data), persistent_load_(std::move(persistent_load)) {}

  size_t position() const { return pos_; }

  PyRef run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                  // PROTO
        case 0x95: bytes(8); break;                // FRAME: framing only
        case '.': return pop();                    // STOP
        case '(': marks_.push_back(stack_.size()); break;
        case '0': pop(); break;                    // POP
        case '1': pop_mark(); break;               // POP_MARK
        case '2': push(top()); break;              // DUP
        case 'N': push(make(arena_, PyValue::Kind::None)); break;
        case 0x88: case 0x89: {                    // NEWTRUE, NEWFALSE
          auto v = make(arena_, PyValue::Kind::Bool);
          v->boolean = op == 0x88;
          push(v);
          break;
        }
        case 'J': push(make_int(arena_, static_cast<int32_t>(little(4)))); break;  // BININT
        case 'K': push(make_int(arena_, static_cast<int64_t>(little(1)))); break;  // BININT1
        case 'M': push(make_int(arena_, static_cast<int64_t>(little(2)))); break;  // BININT2
        case 0x8a: push(long_int(little(1))); break;                      // LONG1
        case 0x8b: push(long_int(little(4))); break;                      // LONG4
        case 'G': {                                                        // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (unsigned char c : bytes(8)) bits = (bits << 8) | c;
          auto v = make(arena_, PyValue::Kind::Float);
          std::memcpy(&v->real, &bits, sizeof bits);
          push(v);
          break;
        }
        case 'X': push(make_text(arena_, PyValue::Kind::String, std::string(bytes(little(4)))));  break;  // BINUNICODE
        case 0x8c: push(make_text(arena_, PyValue::Kind::String, std::string(bytes(little(1))))); break; // SHORT_BINUNICODE
        case 0x8d: push(make_text(arena_, PyValue::Kind::String, std::string(bytes(little(8))))); break; // BINUNICODE8
        case 'T': push(make_text(arena_, PyValue::Kind::String, std::string(bytes(little(4))))); break;  // BINSTRING
        case 'U': push(make_text(arena_, PyValue::Kind::String, std::string(bytes(little(1))))); break;  // SHORT_BINSTRING
        case 'B': push(make_text(arena_, PyValue::Kind::Bytes, std::string(bytes(little(4))))); break;   // BINBYTES
        case 'C': push(make_text(arena_, PyValue::Kind::Bytes, std::string(bytes(little(1))))); break;   // SHORT_BINBYTES
        case 0x8e: push(make_text(arena_, PyValue::Kind::Bytes, std::string(bytes(little(8))))); break;  // BINBYTES8
        case ')': push(make(arena_, PyValue::Kind::Tuple)); break;                                      // EMPTY_TUPLE
        case 't': push(sequence(arena_, PyValue::Kind::Tuple, pop_mark())); break;                      // TUPLE
        case 0x85: case 0x86: case 0x87: {                                                       // TUPLE1..3
          const size_t n = op - 0x84u;
          if (stack_.size() < n + floor()) throw FormatError("TUPLE" + std::to_string(n) + " on a short stack");
          std::vector<PyRef> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(sequence(arena_, PyValue::Kind::Tuple, std::move(items)));
          break;
        }
        case ']': push(make(arena_, PyValue::Kind::List)); break;                       // EMPTY_LIST
        case 'l': push(sequence(arena_, PyValue::Kind::List, pop_mark())); break;       // LIST
        case 0x8f: push(make(arena_, PyValue::Kind::List)); break;                      // EMPTY_SET (kept as a list)
        case 'a': {                                                             // APPEND
          auto item = pop();
          append(*top(), {item});
          break;
        }
        case 'e': case 0x90: {                                                  // APPENDS, ADDITEMS
          auto items = pop_mark();
          append(*top(), items);
          break;
        }
        case 0x91: push(sequence(arena_, PyValue::Kind::List, pop_mark())); break;      // FROZENSET
        case '}': push(make(arena_, PyValue::Kind::Dict)); break;                       // EMPTY_DICT
        case 'd': {                                                             // DICT
          auto items = pop_mark();
          if (items.size() % 2) throw FormatError("DICT with an odd number of items");
          auto dict = make(arena_, PyValue::Kind::Dict);
          for (size_t i = 0; i < items.size(); i += 2) set_item(*dict, items[i], items[i + 1]);
          push(dict);
          break;
        }
        case 's': {                                                             // SETITEM
          auto value = pop();
          auto key = pop();
          set_item(*top(), key, value);
          break;
        }
        case 'u': {                                                             // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2) throw FormatError("SETITEMS with an odd number of items");
          auto& dict = *top();
          for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
          break;
        }
        case 'c': {                                                             // GLOBAL "module\nname\n"
          std::string module = line(), name = line();
          push(make_text(arena_, PyValue::Kind::Global, module + "." + name));
          break;
        }
        case 0x93: {                                                            // STACK_GLOBAL
          auto name = pop(), module = pop();
          if (!name->is(PyValue::Kind::String) || !module->is(PyValue::Kind::String))
            throw FormatError("STACK_GLOBAL without two strings");
          push(make_text(arena_, PyValue::Kind::Global, module->text + "." + name->text));
          break;
        }
        case 'R': {                                                             // REDUCE
          auto args = pop();
          auto callable = pop();
          push(call(*callable, *args));
          break;
        }
        case 0x81: {                                                            // NEWOBJ
          auto args = pop();
          auto cls = pop();
          push(call(*cls, *args));
          break;
        }
        case 0x92: {                                                            // NEWOBJ_EX
          pop();  // kwargs
          auto args = pop();
          auto cls = pop();
          push(call(*cls, *args));
          break;
        }
        case 'b': {                                                             // BUILD
          pop();  // the state
          PyValue& object = *top();
          // An OrderedDict's attributes (a state dict's _metadata) and an
          // opaque object's state are kept by nobody: nothing reads them.
          if (!object.is(PyValue::Kind::Dict) && !object.is(PyValue::Kind::Object) &&
              !object.is(PyValue::Kind::Tensor))
            throw FormatError("BUILD on a " + object.describe());
          break;
        }
        case 'Q': {                                                             // BINPERSID
          auto pid = pop();
          if (!persistent_load_) throw FormatError("a persistent id where none may be");
          push(persistent_load_(*pid));
          break;
        }
        case 'q': memo(little(1)); break;                                       // BINPUT
        case 'r': memo(little(4)); break;                                       // LONG_BINPUT
        case 0x94: memo(memo_.size()); break;                                   // MEMOIZE
        case 'h': push(recall(little(1))); break;                               // BINGET
        case 'j': push(recall(little(4))); break;                               // LONG_BINGET
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          throw FormatError(std::string("unsupported pickle opcode ") + hex + " at byte " + std::to_string(pos_ - 1));
        }
      }
    }
  }

 private:
  uint8_t byte() {
    if (pos_ >= data_.size()) throw FormatError("the pickle ends early (truncated file?)");
    return static_cast<uint8_t>(data_[pos_++]);
  }
  std::string_view bytes(uint64_t n) {
    if (n > data_.size() - pos_) throw FormatError("the pickle ends early (truncated file?)");
    auto out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t little(int n) {
    uint64_t v = 0;
    auto b = bytes(static_cast<uint64_t>(n));
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[static_cast<size_t>(i)]);
    return v;
  }
  std::string line() {
    const size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos || end - pos_ > 256) throw FormatError("a GLOBAL without its name");
    std::string out(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  PyRef long_int(uint64_t n) {
    // Two's complement, little-endian; what a checkpoint holds fits 64 bits
    // (the legacy magic number has 80 and is compared as bytes by the caller).
    auto b = bytes(n);
    if (n > 8) {
      auto v = make_text(arena_, PyValue::Kind::Bytes, std::string(b));
      v->kind = PyValue::Kind::Object;
      v->text = "int of " + std::to_string(n) + " bytes";
      v->items.push_back(make_text(arena_, PyValue::Kind::Bytes, std::string(b)));
      return v;
    }
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(b[i]);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
    return make_int(arena_, static_cast<int64_t>(v));
  }

  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(PyRef v) {
    if (stack_.size() > (1u << 24)) throw FormatError("a pickle stack of absurd depth");
    stack_.push_back(std::move(v));
  }
  PyRef pop() {
    if (stack_.size() <= floor()) throw FormatError("a pickle pops an empty stack");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const PyRef& top() const {
    if (stack_.size() <= floor()) throw FormatError("a pickle reads an empty stack");
    return stack_.back();
  }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty()) throw FormatError("a pickle uses a MARK it never set");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void memo(uint64_t index) {
    if (index > (1u << 26)) throw FormatError("a memo index of absurd size");
    memo_[index] = top();
  }
  PyRef recall(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) throw FormatError("a pickle reads memo " + std::to_string(index) + " it never stored");
    return it->second;
  }
  static PyRef sequence(Arena& arena, PyValue::Kind kind, std::vector<PyRef> items) {
    auto v = make(arena, kind);
    v->items = std::move(items);
    return v;
  }
  static void append(PyValue& list, const std::vector<PyRef>& items) {
    if (!list.is(PyValue::Kind::List)) throw FormatError("APPEND to a " + list.describe());
    list.items.insert(list.items.end(), items.begin(), items.end());
  }

  // The callables a checkpoint needs; anything else becomes an opaque object.
  PyRef call(const PyValue& callable, const PyValue& args) {
    if (!callable.is(PyValue::Kind::Global))
      throw FormatError("a pickle calls a " + callable.describe() + ", not a class or function");
    if (!args.is(PyValue::Kind::Tuple)) throw FormatError(callable.text + " called with a " + args.describe());
    const std::string& name = callable.text;
    const auto& a = args.items;
    auto need = [&](size_t n) {
      if (a.size() < n)
        throw FormatError(name + " called with " + std::to_string(a.size()) + " arguments, not " + std::to_string(n));
    };
    if (name == "collections.OrderedDict" || name == "builtins.dict" || name == "__builtin__.dict") {
      auto dict = make(arena_, PyValue::Kind::Dict);
      if (!a.empty() && (a[0]->is(PyValue::Kind::List) || a[0]->is(PyValue::Kind::Tuple)))
        for (const auto& pair : a[0]->items) {
          if (!(pair->is(PyValue::Kind::Tuple) || pair->is(PyValue::Kind::List)) || pair->items.size() != 2)
            throw FormatError(name + " built from something other than pairs");
          set_item(*dict, pair->items[0], pair->items[1]);
        }
      return dict;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      need(4);
      auto t = make(arena_, PyValue::Kind::Tensor);
      t->tensor = view_storage(*a[0], *a[1], *a[2], *a[3]);
      return t;
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      need(1);
      if (!a[0]->is(PyValue::Kind::Tensor)) throw FormatError(name + " of a " + a[0]->describe());
      return a[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2") {  // (function, type, args, state)
      need(3);
      return call(*a[0], *a[2]);
    }
    if (name == "torch.Size" || name == "builtins.tuple") {
      need(1);
      return sequence(arena_, PyValue::Kind::Tuple, a[0]->items);
    }
    // LibTorch's pickler tags typed containers; the value is the first argument.
    if (name == "torch.jit._pickle.restore_type_tag" || name == "torch.jit._pickle.build_intlist" ||
        name == "torch.jit._pickle.build_doublelist" || name == "torch.jit._pickle.build_boollist" ||
        name == "torch.jit._pickle.build_tensorlist" || name == "torch.jit._pickle.build_tensor_from_id") {
      need(1);
      return a[0];
    }
    if (name == "_codecs.encode") {  // how protocol 2 pickles Python 3 bytes: encode(text, 'latin1')
      need(1);
      if (!a[0]->is(PyValue::Kind::String)) throw FormatError("_codecs.encode of a " + a[0]->describe());
      std::string out;
      const std::string& s = a[0]->text;
      for (size_t i = 0; i < s.size(); ++i) {  // UTF-8 code points below 256 -> one byte each
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
          out.push_back(static_cast<char>(c));
        } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
          out.push_back(static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(s[++i]) & 0x3F)));
        } else {
          throw FormatError("_codecs.encode of text that is not latin-1");
        }
      }
      return make_text(arena_, PyValue::Kind::Bytes, out);
    }
    auto object = make_text(arena_, PyValue::Kind::Object, name);
    object->items = a;
    return object;
  }

  Arena& arena_;
  std::string_view data_;
  size_t pos_ = 0;
  PersistentLoad persistent_load_;
  std::vector<PyRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyRef> memo_;
};

// A zip adapter that never reads past the bytes it was given.
class BoundedReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReadAdapter(std::string_view data) : data_(data) {}
  size_t size() const override { return data_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* = "") const override {
    if (pos >= data_.size()) return 0;
    n = std::min<uint64_t>(n, data_.size() - pos);
    std::memcpy(buf, data_.data() + pos, n);
    return n;
  }

 private:
  std::string_view data_;
};

PyRef make_storage(Arena& arena, at::ScalarType dtype, int64_t numel) {
  auto storage = make(arena, PyValue::Kind::Storage);
  storage->tensor = at::empty({numel}, at::TensorOptions().dtype(dtype));
  return storage;
}

// PyTorch >= 1.6: a zip of ARCHIVE/data.pkl and one record per storage,
// ARCHIVE/data/KEY.
PyRef read_zip(Arena& arena_, std::string_view bytes) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(std::make_shared<BoundedReadAdapter>(bytes));
  } catch (const c10::Error& e) {
    throw FormatError(std::string("not a readable torch.save zip (truncated?): ") + e.what_without_backtrace());
  }
  auto record = [&](const std::string& name) {
    try {
      if (!reader->hasRecord(name)) throw FormatError("the archive lacks " + name);
      auto [data, size] = reader->getRecord(name);
      return std::make_pair(std::move(data), size);
    } catch (const c10::Error& e) {
      throw FormatError("cannot read " + name + " from the archive (truncated?): " + e.what_without_backtrace());
    }
  };
  auto [pickle_data, pickle_size] = record("data.pkl");
  std::unordered_map<std::string, PyRef> storages;
  Unpickler unpickler(arena_, std::string_view(static_cast<const char*>(pickle_data.get()), pickle_size),
                      [&](const PyValue& pid) -> PyRef {
                        const StorageId id = parse_storage_id(pid);
                        if (auto it = storages.find(id.key); it != storages.end()) return it->second;
                        auto [data, size] = record("data/" + id.key);
                        const uint64_t item = c10::elementSize(id.dtype);
                        if (static_cast<uint64_t>(id.numel) > size / item || size != static_cast<uint64_t>(id.numel) * item)
                          throw FormatError("storage " + id.key + " holds " + std::to_string(size) + " bytes, not " +
                                            std::to_string(id.numel) + " elements of " +
                                            std::to_string(item) + " bytes");
                        auto storage = make_storage(arena_, id.dtype, id.numel);
                        if (size) std::memcpy(storage->tensor.data_ptr(), data.get(), size);
                        storages.emplace(id.key, storage);
                        return storage;
                      });
  return unpickler.run();
}

// Before PyTorch 1.6 (and with _use_new_zipfile_serialization=False): five
// pickles in a row (magic number, protocol version, system info, the object,
// the storage keys), then each storage's element count and bytes.
PyRef read_legacy(Arena& arena_, std::string_view bytes) {
  size_t pos = 0;
  auto next_pickle = [&](Unpickler::PersistentLoad load = {}) {
    Unpickler unpickler(arena_, bytes.substr(pos), std::move(load));
    auto value = unpickler.run();
    pos += unpickler.position();
    return value;
  };
  // 0x1950a86a20f9469cfc6c, as LONG1's little-endian bytes.
  static const unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  auto magic = next_pickle();
  if (!magic->is(PyValue::Kind::Object) || magic->items.empty() ||
      magic->items[0]->text != std::string(reinterpret_cast<const char*>(kMagic), sizeof kMagic))
    throw FormatError("not a torch.save file (no PyTorch magic number)");
  auto protocol = next_pickle();
  if (!protocol->is(PyValue::Kind::Int) || protocol->integer != 1001)
    throw FormatError("an unknown legacy torch.save protocol");
  auto sys_info = next_pickle();
  if (const PyValue* little = sys_info->find("little_endian"); little && little->is(PyValue::Kind::Bool) && !little->boolean)
    throw FormatError("saved on a big-endian machine: not supported");

  struct Pending {
    PyRef storage;
    at::ScalarType dtype;
    int64_t numel;
  };
  std::unordered_map<std::string, Pending> roots;
  const uint64_t file_size = bytes.size();
  auto value = next_pickle([&](const PyValue& pid) -> PyRef {
    const StorageId id = parse_storage_id(pid);
    auto it = roots.find(id.key);
    if (it == roots.end()) {
      // Data follows the pickles: a storage larger than the file is a lie.
      if (static_cast<uint64_t>(id.numel) > file_size / c10::elementSize(id.dtype))
        throw FormatError("storage " + id.key + " is larger than the file");
      it = roots.emplace(id.key, Pending{make_storage(arena_, id.dtype, id.numel), id.dtype, id.numel}).first;
    }
    if (!id.view) return it->second.storage;
    // A view (view_key, offset, size) of a root storage.
    const PyValue& view = *id.view;
    if (!view.is(PyValue::Kind::Tuple) || view.items.size() != 3) throw FormatError("a malformed storage view");
    const int64_t offset = checked_int(*view.items[1], "a view offset"), size = checked_int(*view.items[2], "a view size");
    if (offset < 0 || size < 0 || offset > it->second.numel || size > it->second.numel - offset)
      throw FormatError("a storage view outside its storage");
    auto storage = make(arena_, PyValue::Kind::Storage);
    storage->tensor = it->second.storage->tensor.narrow(0, offset, size);
    return storage;
  });
  auto keys = next_pickle();
  if (!keys->is(PyValue::Kind::List)) throw FormatError("no storage list after the object");
  for (const auto& key : keys->items) {
    if (!key->is(PyValue::Kind::String)) throw FormatError("a storage key that is a " + key->describe());
    auto it = roots.find(key->text);
    if (it == roots.end()) throw FormatError("data for storage " + key->text + " that nothing uses");
    if (bytes.size() - pos < 8) throw FormatError("the data of storage " + key->text + " is missing (truncated file?)");
    int64_t count = 0;
    std::memcpy(&count, bytes.data() + pos, 8);
    pos += 8;
    if (count != it->second.numel) throw FormatError("storage " + key->text + " has a different size than announced");
    const uint64_t n = static_cast<uint64_t>(count) * c10::elementSize(it->second.dtype);
    if (bytes.size() - pos < n) throw FormatError("the data of storage " + key->text + " ends early (truncated file?)");
    if (n) std::memcpy(it->second.storage->tensor.data_ptr(), bytes.data() + pos, n);
    pos += n;
  }
  if (keys->items.size() != roots.size()) throw FormatError("some storages have no data (truncated file?)");
  return value;
}

}  // namespace

const PyValue* PyValue::find(std::string_view key) const {
  if (kind != Kind::Dict) return nullptr;
  auto it = string_index.find(std::string(key));
  return it == string_index.end() ? nullptr : entries[it->second].second;
}

std::vector<std::string> PyValue::keys() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : entries)
    if (key->is(Kind::String)) out.push_back(key->text);
  return out;
}

std::string PyValue::describe() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "tensor";
    case Kind::Storage: return "storage";
    case Kind::Global: return text;
    case Kind::Object: return text + " object";
  }
  return "value";
}

TorchFile read_torch_bytes(std::string_view bytes, const std::string& name) {
  TorchFile file;
  try {
    if (bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
      file.root = read_zip(file.arena, bytes);
      return file;
    }
    if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80 && static_cast<uint8_t>(bytes[1]) <= 5) {
      file.root = read_legacy(file.arena, bytes);
      return file;
    }
    if (bytes.size() > 262 && bytes.substr(257, 5) == "ustar")
      throw FormatError("a tar archive (torch.save before PyTorch 0.4): not supported; load and save it again with a newer PyTorch");
    throw FormatError(bytes.empty() ? "an empty file" : "not a torch.save file (neither a zip nor a pickle)");
  } catch (const FormatError& e) {
    throw InputError(name, e.what());
  } catch (const c10::Error& e) {
    throw InputError(name, std::string("unreadable torch.save file: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw InputError(name, "unreadable torch.save file: a size too large to allocate");
  }
}

TorchFile read_torch_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path, "cannot read");
  return read_torch_bytes(bytes, path);
}

}  // namespace sg
