#include "model/stylegan2/summary.hpp"

#include <cstdio>
#include <sstream>

#include "model/stylegan/summary.hpp"

namespace sg::stylegan2 {

namespace {

std::string resolution(int size) { return std::to_string(size) + "x" + std::to_string(size); }

}  // namespace

std::string model_summary(const Config& config) {
  torch::NoGradGuard no_grad;
  Generator g(config);
  Discriminator d(config);
  std::ostringstream out;
  out << "config: StyleGAN2, size " << config.size << ", channels " << config.max_channels;
  if (config.discriminator_cap() != config.max_channels) out << " (discriminator " << config.discriminator_cap() << ")";
  out << ", channel_multiplier " << config.channel_multiplier << ", image_channels " << config.image_channels << ", style_dim " << config.style_dim
      << ", n_mlp " << config.n_mlp << "\n";
  out << "generator parameters: " << stylegan::count_parameters(*g) << " (" << config.num_layers() << " styled convolutions, "
      << config.n_latent() << " W+ entries)\n";
  out << "discriminator parameters: " << stylegan::count_parameters(*d) << "\n\n";
  char line[160];
  auto row = [&](const std::string& name, int64_t count, const std::string& extra = "") {
    std::snprintf(line, sizeof line, "  %-22s %14s%s\n", name.c_str(), stylegan::with_commas(count).c_str(), extra.c_str());
    out << line;
  };
  out << "generator\n";
  row("mapping (style)", stylegan::count_parameters(*g->style));
  row("4x4 (input, conv1)", stylegan::count_parameters(*g->input) + stylegan::count_parameters(*g->conv1),
      "   to_rgb " + stylegan::with_commas(stylegan::count_parameters(*g->to_rgb1)));
  for (size_t b = 0; b < g->to_rgb_layers.size(); ++b)
    row(resolution(8 << b) + " (2 convs)",
        stylegan::count_parameters(*g->conv_layers[2 * b]) + stylegan::count_parameters(*g->conv_layers[2 * b + 1]),
        "   to_rgb " + stylegan::with_commas(stylegan::count_parameters(*g->to_rgb_layers[b])));
  out << "discriminator\n";
  const auto children = d->convs->children();
  row("from image (1x1)", stylegan::count_parameters(*children[0]));
  for (size_t j = 1; j < children.size(); ++j)
    row(resolution(config.size >> (j - 1)) + " (res block)", stylegan::count_parameters(*children[j]));
  row("4x4 (stddev, conv)", stylegan::count_parameters(*d->final_conv));
  row("linear", stylegan::count_parameters(*d->final_linear));
  return out.str();
}

}  // namespace sg::stylegan2
