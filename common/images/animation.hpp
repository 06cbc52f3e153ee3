#pragma once
// Pictures of a training run for people: an animated GIF of sample grids
// and a line plot of losses.
#include <string>
#include <vector>

#include "common/images/image.hpp"

namespace sg {

// Nearest-neighbour resize (grids of different resolutions to one frame size).
Image8 resize_nearest(const Image8& image, int width, int height);

// Writes an endlessly looping GIF; frames are resized to the last frame's
// size. Grey frames use a 256-level grey palette, RGB frames a 3-3-2 one.
// Throws OutputError on failure.
void write_gif(const std::string& path, const std::vector<Image8>& frames, int delay_centiseconds = 20);

struct PlotSeries {
  std::vector<double> x, y;
  uint8_t r = 0, g = 0, b = 0;
};

// The series on shared axes (white background, grey frame and zero line),
// each in its colour, as an RGB image.
Image8 plot_lines(const std::vector<PlotSeries>& series, int width = 800, int height = 400);

}  // namespace sg
