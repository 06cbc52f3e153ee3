#include "model/evaluation/samples.hpp"

#include <filesystem>

#include <stdexcept>

#include "common/errors.hpp"

namespace sg {

int class_index_of(const std::string& checkpoint, const std::vector<std::string>& classes, const std::string& name) {
  if (classes.empty()) throw InputError(checkpoint, "an unconditional checkpoint draws no class ('" + name + "')");
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == name) return static_cast<int>(i);
  std::string listed;
  for (const std::string& c : classes) listed += (listed.empty() ? "" : ", ") + c;
  throw InputError(checkpoint, "has no class '" + name + "' (its classes: " + listed + ")");
}

namespace {

SampleResult draw_class(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options,
                        const CheckpointOpener& open, int class_index) {
  try {
    DrawRequest request{options.size, options.device, false};
    request.class_index = class_index;
    return open(checkpoint, request)->write_samples(out_dir, options);
  } catch (const NonFiniteOutput& e) {
    throw InputError(checkpoint, std::string(e.what()) + "; no pictures written");
  }
}

std::vector<std::string> classes_of(const std::string& checkpoint, const SampleOptions& options,
                                    const CheckpointOpener& open) {
  return open(checkpoint, {options.size, options.device, false})->class_names();
}

}  // namespace

SampleResult write_samples(const std::string& checkpoint, const std::string& out_dir, const SampleOptions& options,
                           const CheckpointOpener& open) {
  if (options.interpolate == 1) throw std::invalid_argument("--interpolate 1: a walk needs at least 2 latents (0: none)");
  if (options.class_name.empty()) return draw_class(checkpoint, out_dir, options, open, -1);
  if (options.class_name == "all") {
    const auto per_class = write_samples_per_class(checkpoint, out_dir, options, open);
    return per_class.front().result;
  }
  const int index = class_index_of(checkpoint, classes_of(checkpoint, options, open), options.class_name);
  return draw_class(checkpoint, out_dir, options, open, index);
}

std::vector<ClassSamples> write_samples_per_class(const std::string& checkpoint, const std::string& out_dir,
                                                  const SampleOptions& options, const CheckpointOpener& open) {
  if (options.interpolate == 1) throw std::invalid_argument("--interpolate 1: a walk needs at least 2 latents (0: none)");
  const std::vector<std::string> classes = classes_of(checkpoint, options, open);
  if (classes.empty()) throw InputError(checkpoint, "an unconditional checkpoint draws no class ('all')");
  for (const std::string& name : classes)
    if (name.empty() || name == "." || name == ".." || name.find_first_of("/\\") != std::string::npos)
      throw InputError(checkpoint, "class name '" + name + "' cannot name a folder");
  std::vector<ClassSamples> out;
  for (size_t c = 0; c < classes.size(); ++c)
    out.push_back({classes[c], draw_class(checkpoint, (std::filesystem::path(out_dir) / classes[c]).string(), options,
                                          open, static_cast<int>(c))});
  return out;
}

}  // namespace sg
