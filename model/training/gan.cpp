#include "model/training/gan.hpp"

#include <stdexcept>

#include "model/training/torch_file.hpp"

namespace sg {

const char* architecture_name(Architecture arch) { return arch == Architecture::StyleGan2 ? "stylegan2" : "stylegan"; }

Architecture parse_architecture(const std::string& name) {
  if (name == "stylegan") return Architecture::StyleGan;
  if (name == "stylegan2") return Architecture::StyleGan2;
  throw std::invalid_argument("unknown architecture \"" + name + "\": stylegan or stylegan2");
}

Architecture checkpoint_architecture(const std::string& path) {
  const TorchFile file = read_torch_file(path);
  return file.root->is(PyValue::Kind::Dict) && file.root->find("g_ema") ? Architecture::StyleGan2
                                                                         : Architecture::StyleGan;
}

}  // namespace sg
