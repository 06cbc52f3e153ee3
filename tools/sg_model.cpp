// sg_model: what a StyleGAN or StyleGAN2 configuration amounts to
// (parameter counts per block), before training it.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "model/stylegan/summary.hpp"
#include "model/stylegan2/summary.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_model: StyleGAN / StyleGAN2 generator and discriminator summary"};
  sg::StyleGanConfig config;
  std::string arch = "stylegan";
  int channel_multiplier = 2, size = 256;
  bool summary = false;
  bool no_from_rgb_activate = false;
  app.add_flag("--summary", summary, "print parameter counts (the default action)");
  app.add_option("--max_size,--max-size", config.max_size, "largest resolution")
      ->check(CLI::IsMember({4, 8, 16, 32, 64, 128, 256, 512, 1024}));
  app.add_option("--channels", config.max_channels, "width cap of every block")->check(CLI::Range(1, 512));
  app.add_option("--image_channels,--image-channels", config.image_channels, "1 (grey) or 3 (RGB)")
      ->check(CLI::IsMember({1, 3}));
  app.add_option("--style_dim,--style-dim", config.style_dim, "latent size")->check(CLI::Range(1, 4096));
  app.add_flag("--no_from_rgb_activate,--no-from-rgb-activate", no_from_rgb_activate,
               "no LeakyReLU after from_rgb (the reference's flag)");
  app.add_option("--arch", arch, "stylegan (default) or stylegan2")->check(CLI::IsMember({"stylegan", "stylegan2"}));
  app.add_option("--size", size, "StyleGAN2: the resolution");
  app.add_option("--channel_multiplier,--channel-multiplier", channel_multiplier, "StyleGAN2: 2 (config-f) or 1")
      ->check(CLI::IsMember({1, 2}));
  CLI11_PARSE(app, argc, argv);
  config.from_rgb_activate = !no_from_rgb_activate;
  (void)summary;
  try {
    if (arch == "stylegan2") {
      sg::stylegan2::Config c;
      c.size = size;
      c.max_channels = config.max_channels;
      c.image_channels = config.image_channels;
      c.style_dim = config.style_dim;
      c.n_mlp = config.n_mlp;
      c.channel_multiplier = channel_multiplier;
      c.validate();
      std::fputs(sg::stylegan2::model_summary(c).c_str(), stdout);
      return 0;
    }
    std::fputs(sg::model_summary(config).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_model: error: %s\n", e.what());
    return 1;
  }
}
