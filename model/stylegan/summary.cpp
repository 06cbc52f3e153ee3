#include "model/stylegan/summary.hpp"

#include <cstdio>
#include <sstream>

namespace sg::stylegan {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string model_summary(const StyleGanConfig& config) {
  StyledGenerator g(config);
  Discriminator d(config);
  std::ostringstream out;
  out << "config: max_size " << config.max_size << ", channels " << config.max_channels << ", image_channels "
      << config.image_channels << ", style_dim " << config.style_dim << ", n_mlp " << config.n_mlp << "\n";
  out << "generator parameters: " << count_parameters(*g) << "\n";
  out << "discriminator parameters: " << count_parameters(*d) << "\n\n";
  char line[160];
  out << "generator\n";
  std::snprintf(line, sizeof line, "  %-22s %14s\n", "mapping (style)", with_commas(count_parameters(*g->style)).c_str());
  out << line;
  for (size_t i = 0; i < g->generator->blocks.size(); ++i) {
    const int size = size_for_step(static_cast<int>(i));
    std::string name = "block " + std::to_string(i) + " (" + std::to_string(size) + "x" + std::to_string(size) + ")";
    std::snprintf(line, sizeof line, "  %-22s %14s   to_rgb %s\n", name.c_str(),
                  with_commas(count_parameters(*g->generator->blocks[i])).c_str(),
                  with_commas(count_parameters(*g->generator->to_rgb_layers[i])).c_str());
    out << line;
  }
  out << "discriminator\n";
  for (size_t j = 0; j < d->blocks.size(); ++j) {
    const int size = size_for_step(d->n_layer - 1 - static_cast<int>(j));
    std::string name = "block " + std::to_string(j) + " (" + std::to_string(size) + "x" + std::to_string(size) + ")";
    std::snprintf(line, sizeof line, "  %-22s %14s   from_rgb %s\n", name.c_str(),
                  with_commas(count_parameters(*d->blocks[j])).c_str(),
                  with_commas(count_parameters(*d->from_rgb_layers[j])).c_str());
    out << line;
  }
  std::snprintf(line, sizeof line, "  %-22s %14s\n", "linear", with_commas(count_parameters(*d->linear)).c_str());
  out << line;
  return out.str();
}

}  // namespace sg::stylegan
