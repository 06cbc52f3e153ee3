#include "common/images/animation.hpp"

#include <gif_lib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/errors.hpp"

namespace sg {

Image8 resize_nearest(const Image8& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  Image8 out(width, height, image.channels);
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(image.height - 1, y * image.height / height);
    for (int x = 0; x < width; ++x) {
      const int sx = std::min(image.width - 1, x * image.width / width);
      std::copy_n(&image.pixels[(static_cast<size_t>(sy) * image.width + sx) * image.channels], image.channels,
                  &out.pixels[(static_cast<size_t>(y) * width + x) * image.channels]);
    }
  }
  return out;
}

void write_gif(const std::string& path, const std::vector<Image8>& frames, int delay) {
  if (frames.empty()) throw OutputError(path, "no frames for the GIF");
  const Image8& last = frames.back();
  const bool rgb = last.channels == 3;
  int error = 0;
  GifFileType* gif = EGifOpenFileName(path.c_str(), false, &error);
  if (!gif) throw OutputError(path, std::string("cannot create GIF: ") + GifErrorString(error));
  ColorMapObject* palette = GifMakeMapObject(256, nullptr);
  for (int i = 0; i < 256; ++i) {
    GifColorType& c = palette->Colors[i];
    if (rgb) {  // 3-3-2 bits
      c.Red = static_cast<GifByteType>(((i >> 5) & 7) * 255 / 7);
      c.Green = static_cast<GifByteType>(((i >> 2) & 7) * 255 / 7);
      c.Blue = static_cast<GifByteType>((i & 3) * 255 / 3);
    } else {
      c.Red = c.Green = c.Blue = static_cast<GifByteType>(i);
    }
  }
  auto fail = [&](const char* what) {
    int close_error = 0;
    EGifCloseFile(gif, &close_error);
    GifFreeMapObject(palette);
    throw OutputError(path, what);
  };
  EGifSetGifVersion(gif, true);
  if (EGifPutScreenDesc(gif, last.width, last.height, 8, 0, palette) == GIF_ERROR) fail("cannot write the GIF header");
  // NETSCAPE2.0: loop forever.
  const unsigned char app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  const unsigned char loop[] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, sizeof app, app) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, sizeof loop, loop) == GIF_ERROR || EGifPutExtensionTrailer(gif) == GIF_ERROR)
    fail("cannot write the GIF loop extension");
  std::vector<GifByteType> row(static_cast<size_t>(last.width));
  for (const Image8& source : frames) {
    const Image8 frame = resize_nearest(source, last.width, last.height);
    GraphicsControlBlock control{DISPOSE_DO_NOT, false, delay, NO_TRANSPARENT_COLOR};
    GifByteType extension[4];
    EGifGCBToExtension(&control, extension);
    if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, extension) == GIF_ERROR ||
        EGifPutImageDesc(gif, 0, 0, frame.width, frame.height, false, nullptr) == GIF_ERROR)
      fail("cannot write a GIF frame");
    for (int y = 0; y < frame.height; ++y) {
      for (int x = 0; x < frame.width; ++x) {
        const uint8_t* p = &frame.pixels[(static_cast<size_t>(y) * frame.width + x) * frame.channels];
        row[x] = frame.channels == 3 ? static_cast<GifByteType>((p[0] >> 5) << 5 | (p[1] >> 5) << 2 | (p[2] >> 6))
                                     : p[0];
      }
      if (EGifPutLine(gif, row.data(), frame.width) == GIF_ERROR) fail("cannot write GIF pixels");
    }
  }
  if (EGifCloseFile(gif, &error) == GIF_ERROR) {
    GifFreeMapObject(palette);
    throw OutputError(path, std::string("cannot finish the GIF: ") + GifErrorString(error));
  }
  GifFreeMapObject(palette);
}

namespace {

// A 3x5 pixel font for axis numbers: digits, '-', '.', 'e', '+'.
const char* glyph(char c) {
  switch (c) {
    case '0': return "111101101101111";
    case '1': return "010110010010111";
    case '2': return "111001111100111";
    case '3': return "111001111001111";
    case '4': return "101101111001001";
    case '5': return "111100111001111";
    case '6': return "111100111101111";
    case '7': return "111001001001001";
    case '8': return "111101111101111";
    case '9': return "111101111001111";
    case '-': return "000000111000000";
    case '+': return "000010111010000";
    case '.': return "000000000000010";
    case 'e': return "000111101110011";
    default: return "000000000000000";
  }
}

// Draws `text` at (x, y) (top left), each font pixel as scale x scale.
void draw_text(Image8& image, int x, int y, const std::string& text, int scale = 2) {
  for (char c : text) {
    const char* g = glyph(c);
    for (int row = 0; row < 5; ++row)
      for (int col = 0; col < 3; ++col)
        if (g[row * 3 + col] == '1')
          for (int dy = 0; dy < scale; ++dy)
            for (int dx = 0; dx < scale; ++dx) {
              const int px = x + col * scale + dx, py = y + row * scale + dy;
              if (px < 0 || py < 0 || px >= image.width || py >= image.height) continue;
              uint8_t* p = &image.pixels[(static_cast<size_t>(py) * image.width + px) * image.channels];
              std::fill_n(p, image.channels, 0);
            }
    x += 4 * scale;
  }
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

}  // namespace

Image8 plot_lines(const std::vector<PlotSeries>& series, int width, int height) {
  Image8 image(width, height, 3);
  std::fill(image.pixels.begin(), image.pixels.end(), 255);
  auto put = [&](int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    uint8_t* p = &image.pixels[(static_cast<size_t>(y) * width + x) * 3];
    p[0] = r;
    p[1] = g;
    p[2] = b;
  };
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  const int left = 70, right = width - 10, top = 10, bottom = height - 30;
  for (int x = left; x <= right; ++x) put(x, bottom, 128, 128, 128), put(x, top, 200, 200, 200);
  for (int y = top; y <= bottom; ++y) put(left, y, 128, 128, 128), put(right, y, 200, 200, 200);
  if (x0 > x1) return image;  // nothing to draw
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  auto px = [&](double x) { return left + static_cast<int>(std::lround((x - x0) / (x1 - x0) * (right - left))); };
  auto py = [&](double y) { return bottom - static_cast<int>(std::lround((y - y0) / (y1 - y0) * (bottom - top))); };
  if (y0 < 0 && y1 > 0) {
    for (int x = left; x <= right; x += 2) put(x, py(0.0), 160, 160, 160);
    draw_text(image, 4, py(0.0) - 5, "0");
  }
  draw_text(image, 4, top, number(y1));
  draw_text(image, 4, bottom - 10, number(y0));
  draw_text(image, left, bottom + 8, number(x0));
  const std::string x_end = number(x1);
  draw_text(image, right - static_cast<int>(x_end.size()) * 8, bottom + 8, x_end);
  for (const auto& s : series) {
    for (size_t i = 1; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.y[i - 1])) continue;
      int ax = px(s.x[i - 1]), ay = py(s.y[i - 1]), bx = px(s.x[i]), by = py(s.y[i]);
      const int steps = std::max(std::abs(bx - ax), std::abs(by - ay)) + 1;
      for (int k = 0; k <= steps; ++k)
        put(ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps, s.r, s.g, s.b);
    }
  }
  return image;
}

}  // namespace sg
