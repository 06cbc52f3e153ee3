// sg_model: what a StyleGAN or StyleGAN2 configuration amounts to
// (parameter counts per block), before training it.
#include <cstdio>

#include "common/cli.hpp"
#include "model/stylegan/summary.hpp"
#include "model/stylegan2/networks.hpp"
#include "model/stylegan2/summary.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sg_model: StyleGAN / StyleGAN2 generator and discriminator summary"};
  sg::stylegan::StyleGanConfig config;
  std::string arch = "stylegan";
  int channel_multiplier = 2, size = 256;
  bool summary = false;
  bool no_from_rgb_activate = false;
  app.add_flag("--summary", summary, "print parameter counts (the default action)");
  sg::cli::add_choice(app, "--max_size,--max-size", config.max_size, "largest resolution", {4, 8, 16, 32, 64, 128, 256, 512, 1024});
  sg::cli::add_number(app, "--channels", config.max_channels, "width cap of every block", sg::cli::between(1, 512));
  sg::cli::add_choice(app, "--image_channels,--image-channels", config.image_channels, "1 (grey) or 3 (RGB)", {1, 3});
  sg::cli::add_number(app, "--style_dim,--style-dim", config.style_dim, "latent size", sg::cli::between(1, 4096));
  app.add_flag("--no_from_rgb_activate,--no-from-rgb-activate", no_from_rgb_activate,
               "no LeakyReLU after from_rgb (the reference's flag)");
  app.add_option("--arch", arch, "stylegan (default) or stylegan2")->check(CLI::IsMember({"stylegan", "stylegan2"}));
  sg::cli::add_choice(app, "--size", size, "StyleGAN2: the resolution", {8, 16, 32, 64, 128, 256, 512, 1024});
  sg::cli::add_choice(app, "--channel_multiplier,--channel-multiplier", channel_multiplier,
                      "StyleGAN2: 2 (config-f) or 1", {1, 2});
  int d_channels = 0;
  sg::cli::add_number(app, "--d_channels,--d-channels", d_channels,
                      "StyleGAN2: the discriminator's width cap (default: --channels)", sg::cli::between(1, 512));
  if (int code = sg::cli::parse_flags(app, argc, argv, "sg_model"); code >= 0) return code;
  // Each architecture's own flags: one given to the other would be ignored.
  const bool v2 = arch == "stylegan2";
  for (const char* flag : {"--max_size", "--no_from_rgb_activate"})
    if (v2 && app.count(flag) > 0) {
      std::fprintf(stderr, "sg_model: error: %s is a progressive StyleGAN flag; --arch stylegan2 takes --size\n", flag);
      return 2;
    }
  for (const char* flag : {"--size", "--channel_multiplier", "--d_channels"})
    if (!v2 && app.count(flag) > 0) {
      std::fprintf(stderr, "sg_model: error: %s needs --arch stylegan2 (StyleGAN grows to --max_size)\n", flag);
      return 2;
    }
  config.from_rgb_activate = !no_from_rgb_activate;
  (void)summary;
  try {
    if (arch == "stylegan2") {
      sg::stylegan2::Config c = sg::stylegan2::config_from(config, size, channel_multiplier);
      c.d_max_channels = d_channels;
      c.validate();
      std::fputs(sg::stylegan2::model_summary(c).c_str(), stdout);
      return 0;
    }
    std::fputs(sg::stylegan::model_summary(config).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    sg::cli::print_error("sg_model", e);
    return 1;
  }
}
