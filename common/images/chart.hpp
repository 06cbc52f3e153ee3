#pragma once
// Charts a person can read: panels of curves over a shared x axis, with
// ticks, tick labels, axis labels, a legend per panel and labelled vertical
// markers (e.g. where the network grew), drawn with cairo. Also captions
// above pictures. Without cairo at build time (SG_HAVE_CAIRO undefined) the
// chart falls back to bare lines and captions are left out.
#include <cstdint>
#include <string>
#include <vector>

#include "common/images/image.hpp"

namespace sg {

struct ChartCurve {
  std::string label;
  std::vector<double> x, y;  // NaN y: a gap
  uint8_t r = 0, g = 0, b = 0;
  bool points = false;       // marks instead of a line (sparse series such as SWD)
};

struct ChartPanel {
  std::string y_label;
  std::vector<ChartCurve> curves;
};

struct ChartMarker {
  double x = 0;
  std::string label;
};

struct Chart {
  std::string title;
  std::string x_label = "iteration";
  // A second row of x tick labels: `secondary_values` interpolated at each
  // tick from (secondary_x, secondary_values), e.g. images seen.
  std::string secondary_label;
  std::vector<double> secondary_x, secondary_values;
  std::vector<ChartPanel> panels;
  std::vector<ChartMarker> markers;
  int width = 1000, panel_height = 240;
};

// Where the renderer put what a reader looks for (pixel centres).
struct ChartLayout {
  struct Point {
    int x = 0, y = 0;
  };
  std::vector<Point> legend_swatches;  // panel by panel, curve by curve
  std::vector<Point> x_ticks;          // the tick marks under the last panel
  std::vector<Point> y_ticks;          // the tick marks left of every panel
};

// Whether this build draws text (cairo).
bool charts_have_text();

// An RGB picture of the chart.
Image8 render_chart(const Chart& chart, ChartLayout* layout = nullptr);

// `image` under a white band holding `text` (grey images stay grey). The
// image itself is unchanged without cairo.
Image8 add_caption(const Image8& image, const std::string& text);

// "1.5k", "12k", "1.2M": short numbers for tick labels.
std::string short_number(double value);

}  // namespace sg
