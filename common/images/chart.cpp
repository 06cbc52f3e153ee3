#include "common/images/chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/images/animation.hpp"

#ifdef SG_HAVE_CAIRO
#include <cairo.h>
#endif

namespace sg {

std::string short_number(double value) {
  const double magnitude = std::abs(value);
  char text[32];
  if (magnitude >= 1e6)
    std::snprintf(text, sizeof text, "%gM", std::round(value / 1e5) / 10);
  else if (magnitude >= 1e3)
    std::snprintf(text, sizeof text, "%gk", std::round(value / 1e2) / 10);
  else
    std::snprintf(text, sizeof text, "%g", std::round(value * 1e4) / 1e4);
  return text;
}

#ifndef SG_HAVE_CAIRO

bool charts_have_text() { return false; }

Image8 render_chart(const Chart& chart, ChartLayout*) {
  std::vector<PlotSeries> series;
  for (const ChartPanel& panel : chart.panels)
    for (const ChartCurve& c : panel.curves) series.push_back({c.x, c.y, c.r, c.g, c.b});
  return plot_lines(series, chart.width, chart.panel_height * std::max<int>(1, static_cast<int>(chart.panels.size())));
}

Image8 add_caption(const Image8& image, const std::string&) { return image; }

#else

namespace {

constexpr double kLeft = 78, kRight = 24, kTop = 34, kBottom = 58, kGap = 14;

struct Range {
  double low = 0, high = 1;
  double at(double v, double from, double to) const { return from + (v - low) / (high - low) * (to - from); }
};

// Round steps (1, 2, 5 x 10^k) giving about `count` ticks over the range.
std::vector<double> nice_ticks(const Range& r, int count) {
  const double raw = (r.high - r.low) / std::max(1, count);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(r.low / step) * step; t <= r.high + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

// The span of the finite values, the extreme 1% at each end left out (a
// loss spike would flatten everything else), padded by 8%.
Range value_range(const std::vector<const std::vector<double>*>& series) {
  std::vector<double> values;
  for (const auto* s : series)
    for (double v : *s)
      if (std::isfinite(v)) values.push_back(v);
  Range r;
  if (values.empty()) return r;
  std::sort(values.begin(), values.end());
  const size_t cut = values.size() >= 200 ? values.size() / 100 : 0;
  r.low = values[cut];
  r.high = values[values.size() - 1 - cut];
  if (r.high - r.low < 1e-12) {
    const double pad = std::max(1e-3, std::abs(r.low) * 0.1);
    r.low -= pad;
    r.high += pad;
  }
  const double pad = (r.high - r.low) * 0.08;
  r.low -= pad;
  r.high += pad;
  return r;
}

double interpolate(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  if (xs.empty()) return 0;
  if (x <= xs.front()) return ys.front();
  if (x >= xs.back()) return ys.back();
  const size_t i = static_cast<size_t>(std::upper_bound(xs.begin(), xs.end(), x) - xs.begin());
  const double t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

void set_colour(cairo_t* cr, uint8_t r, uint8_t g, uint8_t b) { cairo_set_source_rgb(cr, r / 255.0, g / 255.0, b / 255.0); }

// One straight line in a grey level (the grid, ticks, zero line, markers).
void stroke_line(cairo_t* cr, uint8_t grey, double x0, double y0, double x1, double y1) {
  set_colour(cr, grey, grey, grey);
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
  cairo_stroke(cr);
}

// Text with its anchor: horizontal 0 left, 0.5 centre, 1 right; vertical likewise (0 top).
void text(cairo_t* cr, const std::string& s, double x, double y, double ax, double ay) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_move_to(cr, x - e.width * ax - e.x_bearing, y - e.height * ay - e.y_bearing);
  cairo_show_text(cr, s.c_str());
}

Image8 surface_to_image(cairo_surface_t* surface, bool grey) {
  cairo_surface_flush(surface);
  const int w = cairo_image_surface_get_width(surface), h = cairo_image_surface_get_height(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  Image8 out(w, h, grey ? 1 : 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint32_t pixel = *reinterpret_cast<const uint32_t*>(data + y * stride + x * 4);
      const uint8_t r = (pixel >> 16) & 255, g = (pixel >> 8) & 255, b = pixel & 255;
      const size_t at = (static_cast<size_t>(y) * w + x) * out.channels;
      if (grey) {
        out.pixels[at] = static_cast<uint8_t>((r + g + b) / 3);
      } else {
        out.pixels[at] = r;
        out.pixels[at + 1] = g;
        out.pixels[at + 2] = b;
      }
    }
  return out;
}

}  // namespace

bool charts_have_text() { return true; }

namespace {

// One panel's plotting area and its value ranges.
struct PanelFrame {
  double left = 0, right = 0, top = 0, bottom = 0;
  Range x_range, y_range;
  double px(double x) const { return x_range.at(x, left, right); }
  double py(double y) const { return y_range.at(y, bottom, top); }
};

// Grid, ticks and their labels (the x labels under the last panel only).
void draw_ticks(cairo_t* cr, const Chart& chart, const PanelFrame& f, const std::vector<double>& x_ticks, bool last,
                ChartLayout* layout) {
  cairo_set_font_size(cr, 11);
  cairo_set_line_width(cr, 1);
  for (double t : nice_ticks(f.y_range, 5)) {
    const double y = std::round(f.py(t)) + 0.5;
    stroke_line(cr, 232, f.left, y, f.right, y);
    stroke_line(cr, 40, f.left - 6, y, f.left, y);
    text(cr, short_number(t), f.left - 9, y, 1, 0.5);
    if (layout) layout->y_ticks.push_back({static_cast<int>(f.left - 3), static_cast<int>(y)});
  }
  for (double t : x_ticks) {
    const double x = std::round(f.px(t)) + 0.5;
    stroke_line(cr, 232, x, f.top, x, f.bottom);
    stroke_line(cr, 40, x, f.bottom, x, f.bottom + 6);
    if (!last) continue;
    text(cr, short_number(t), x, f.bottom + 9, 0.5, 0);
    if (!chart.secondary_x.empty())
      text(cr, short_number(interpolate(chart.secondary_x, chart.secondary_values, t)), x, f.bottom + 24, 0.5, 0);
    if (layout) layout->x_ticks.push_back({static_cast<int>(x), static_cast<int>(f.bottom + 3)});
  }
}

// Zero line, markers (labelled in the first panel), frame and the turned y label.
void draw_frame(cairo_t* cr, const Chart& chart, const PanelFrame& f, const std::string& y_label, bool first) {
  if (f.y_range.low < 0 && f.y_range.high > 0) {
    const double zero = std::round(f.py(0)) + 0.5;
    stroke_line(cr, 150, f.left, zero, f.right, zero);
  }
  const double dash[] = {4, 3};
  for (const ChartMarker& m : chart.markers) {
    if (m.x < f.x_range.low || m.x > f.x_range.high) continue;
    const double x = std::round(f.px(m.x)) + 0.5;
    cairo_set_dash(cr, dash, 2, 0);
    stroke_line(cr, 120, x, f.top, x, f.bottom);
    cairo_set_dash(cr, nullptr, 0, 0);
    if (first) text(cr, m.label, x + 3, f.top + 3, 0, 0);
  }
  set_colour(cr, 40, 40, 40);
  cairo_rectangle(cr, f.left + 0.5, f.top + 0.5, f.right - f.left - 1, f.bottom - f.top - 1);
  cairo_stroke(cr);
  cairo_save(cr);
  cairo_set_font_size(cr, 12);
  cairo_translate(cr, 16, (f.top + f.bottom) / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, y_label, 0, 0, 0.5, 0.5);
  cairo_restore(cr);
}

// The curves, clipped to the panel: lines broken at NaN, or marks.
void draw_curves(cairo_t* cr, const ChartPanel& panel, const PanelFrame& f) {
  cairo_save(cr);
  cairo_rectangle(cr, f.left + 1, f.top + 1, f.right - f.left - 2, f.bottom - f.top - 2);
  cairo_clip(cr);
  for (const ChartCurve& c : panel.curves) {
    set_colour(cr, c.r, c.g, c.b);
    cairo_set_line_width(cr, 1.5);
    bool drawing = false;
    for (size_t i = 0; i < c.x.size() && i < c.y.size(); ++i) {
      if (!std::isfinite(c.y[i])) {
        drawing = false;
        continue;
      }
      if (c.points) {
        cairo_new_sub_path(cr);
        cairo_arc(cr, f.px(c.x[i]), f.py(c.y[i]), 3, 0, 2 * M_PI);
        cairo_fill(cr);
        continue;
      }
      if (drawing)
        cairo_line_to(cr, f.px(c.x[i]), f.py(c.y[i]));
      else
        cairo_move_to(cr, f.px(c.x[i]), f.py(c.y[i]));
      drawing = true;
    }
    if (!c.points) cairo_stroke(cr);
  }
  cairo_restore(cr);
}

// The legend, top right inside the panel.
void draw_legend(cairo_t* cr, const ChartPanel& panel, const PanelFrame& f, ChartLayout* layout) {
  cairo_set_font_size(cr, 12);
  double label_width = 0;
  for (const ChartCurve& c : panel.curves) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, c.label.c_str(), &e);
    label_width = std::max(label_width, e.x_advance);
  }
  const double box_width = label_width + 44, row = 18;
  const double box_left = f.right - box_width - 8, box_top = f.top + 8;
  if (!panel.curves.empty()) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, box_left, box_top, box_width, row * panel.curves.size() + 8);
    cairo_fill_preserve(cr);
    set_colour(cr, 160, 160, 160);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
  }
  for (size_t i = 0; i < panel.curves.size(); ++i) {
    const ChartCurve& c = panel.curves[i];
    const double y = box_top + 4 + row * i + row / 2;
    set_colour(cr, c.r, c.g, c.b);
    cairo_rectangle(cr, box_left + 8, std::round(y) - 2, 22, 4);
    cairo_fill(cr);
    if (layout) layout->legend_swatches.push_back({static_cast<int>(box_left + 19), static_cast<int>(std::round(y))});
    set_colour(cr, 20, 20, 20);
    text(cr, c.label, box_left + 36, y, 0, 0.5);
  }
}

// The x range of every curve of every panel.
Range chart_x_range(const Chart& chart) {
  std::vector<const std::vector<double>*> xs;
  for (const ChartPanel& p : chart.panels)
    for (const ChartCurve& c : p.curves) xs.push_back(&c.x);
  Range x_range = value_range(xs);
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const auto* s : xs)
    for (double v : *s) low = std::min(low, v), high = std::max(high, v);
  if (std::isfinite(low) && high > low) x_range = {low, high};
  return x_range;
}

}  // namespace

Image8 render_chart(const Chart& chart, ChartLayout* layout) {
  const int panels = std::max<int>(1, static_cast<int>(chart.panels.size()));
  const int width = chart.width;
  const int height = static_cast<int>(kTop + kBottom + panels * chart.panel_height);
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  PanelFrame frame;
  frame.x_range = chart_x_range(chart);
  frame.left = kLeft;
  frame.right = width - kRight;
  const std::vector<double> x_ticks = nice_ticks(frame.x_range, 8);

  set_colour(cr, 20, 20, 20);
  cairo_set_font_size(cr, 15);
  text(cr, chart.title, width / 2.0, 9, 0.5, 0);
  for (int p = 0; p < panels; ++p) {
    frame.top = kTop + p * chart.panel_height;
    frame.bottom = frame.top + chart.panel_height - kGap;
    const ChartPanel empty;
    const ChartPanel& panel = p < static_cast<int>(chart.panels.size()) ? chart.panels[static_cast<size_t>(p)] : empty;
    std::vector<const std::vector<double>*> ys;
    for (const ChartCurve& c : panel.curves) ys.push_back(&c.y);
    frame.y_range = value_range(ys);
    draw_ticks(cr, chart, frame, x_ticks, p == panels - 1, layout);
    draw_frame(cr, chart, frame, panel.y_label, p == 0);
    draw_curves(cr, panel, frame);
    draw_legend(cr, panel, frame, layout);
  }
  cairo_set_font_size(cr, 12);
  set_colour(cr, 20, 20, 20);
  const double axis_y = kTop + panels * chart.panel_height - kGap;
  text(cr, chart.x_label, frame.left - 8, axis_y + 9, 1, 0);
  if (!chart.secondary_x.empty()) text(cr, chart.secondary_label, frame.left - 8, axis_y + 24, 1, 0);

  cairo_destroy(cr);
  Image8 image = surface_to_image(surface, false);
  cairo_surface_destroy(surface);
  return image;
}

Image8 add_caption(const Image8& image, const std::string& caption) {
  constexpr int kBand = 20;
  const int width = image.width, height = image.height + kBand;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  cairo_set_source_rgb(cr, 0.08, 0.08, 0.08);
  text(cr, caption, 4, kBand / 2.0, 0, 0.5);
  cairo_destroy(cr);
  Image8 band = surface_to_image(surface, image.channels == 1);
  cairo_surface_destroy(surface);
  if (image.channels != 1 && image.channels != 3) return image;
  // The picture itself below the band, pixel for pixel.
  const size_t row = static_cast<size_t>(width) * image.channels;
  std::copy(image.pixels.begin(), image.pixels.end(), band.pixels.begin() + static_cast<std::ptrdiff_t>(row * kBand));
  return band;
}

#endif

}  // namespace sg
