#pragma once
// crop: every slice becomes a square (centre square, fixed box, foreground
// bounding box + margin, or letterbox padding).
#include <vector>

#include "common/images/image.hpp"
#include "dataset.pb.h"
#include "stages/prep_item.hpp"

namespace sg {

struct Box {
  int x = 0, y = 0, width = 0, height = 0;
  bool empty() const { return width <= 0 || height <= 0; }
};

// Copies `box` out of `image`; parts outside the image are black.
Image8 copy_box(const Image8& image, const Box& box);

// The bounding box of pixels above `threshold` (empty when none).
Box foreground_box(const Image8& image, int threshold);
Box union_box(const Box& a, const Box& b);

// The square of side max(w, h) * (1 + 2 * margin) centred on `box`.
Box square_around(const Box& box, double margin);

// Crops one slice; `input_box` is the per-input foreground box, if any.
Image8 crop_square(const Image8& image, const Crop& config, const Box* input_box = nullptr);

void crop_stage(PrepItem& item, const DatasetConfig& config);

}  // namespace sg
