#include "model/augment/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

namespace sg {

namespace {

// Symlet-6's low-pass filter: orthonormal, so upsampling by 2 with it and
// downsampling with it again is the identity, and nearly symmetric, so it
// moves the image by a known fraction of a pixel (kWaveletDelay).
constexpr std::array<double, 12> kSym6{
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466,   0.787641141030194,     0.3379294217276218,   -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578,  0.0017677118642428036, -0.007800708325034148};
constexpr int kTaps = 12;
// Where, in taps, the filter's weight sits (its first moment over its sum):
// the upsampled pixel n stands at input position (n + 5 - delay) / 2.
double wavelet_delay() {
  double moment = 0, sum = 0;
  for (int i = 0; i < kTaps; ++i) {
    moment += i * kSym6[static_cast<size_t>(i)];
    sum += kSym6[static_cast<size_t>(i)];
  }
  return moment / sum;
}
// Input pixels beyond the sampled region that the upsampling and the
// bilinear step reach (3 from the filter's half-width, 1/2 from bilinear).
constexpr double kPaddingMargin = 4;

using Matrix3 = std::array<double, 9>;  // row-major, affine in 2-D
using Matrix4 = std::array<double, 16>;  // row-major, affine in RGB

Matrix3 multiply(const Matrix3& a, const Matrix3& b) {
  Matrix3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) r[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return r;
}
Matrix4 multiply(const Matrix4& a, const Matrix4& b) {
  Matrix4 r{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 4; ++k) r[i * 4 + j] += a[i * 4 + k] * b[k * 4 + j];
  return r;
}
Matrix3 scale2(double sx, double sy) { return {sx, 0, 0, 0, sy, 0, 0, 0, 1}; }
Matrix3 rotate2(double theta) {
  const double c = std::cos(theta), s = std::sin(theta);
  return {c, -s, 0, s, c, 0, 0, 0, 1};
}
Matrix3 translate2(double tx, double ty) { return {1, 0, tx, 0, 1, ty, 0, 0, 1}; }
Matrix4 identity4() { return {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}; }
Matrix4 brightness4(double b) { return {1, 0, 0, b, 0, 1, 0, b, 0, 0, 1, b, 0, 0, 0, 1}; }
Matrix4 scale4(double s) { return {s, 0, 0, 0, 0, s, 0, 0, 0, 0, s, 0, 0, 0, 0, 1}; }
// Linear maps of RGB about the luma axis v = (1, 1, 1) / sqrt(3), built from
// P = v v^T (the projection onto it) and, for the hue, K (v's cross product).
Matrix4 about_luma(double identity_weight, double projection_weight, double cross_weight) {
  const double third = 1.0 / 3.0, k = 1.0 / std::sqrt(3.0);
  const double cross[9] = {0, -k, k, k, 0, -k, -k, k, 0};
  Matrix4 m = identity4();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      m[i * 4 + j] = (i == j ? identity_weight : 0) + projection_weight * third + cross_weight * cross[i * 3 + j];
  return m;
}
Matrix4 luma_flip4() { return about_luma(1, -2, 0); }  // I - 2P
Matrix4 hue_rotation4(double theta) {                  // Rodrigues: cos I + (1 - cos) P + sin K
  return about_luma(std::cos(theta), 1 - std::cos(theta), std::sin(theta));
}
Matrix4 saturation4(double s) { return about_luma(s, 1 - s, 0); }  // P + s (I - P)

// Torch's "reflect" padding index of integer tensor i into [0, n),
// elementwise: -1 -> 1, n -> n - 2.
torch::Tensor reflect(const torch::Tensor& i, int64_t n) {
  if (n == 1) return torch::zeros_like(i);
  const int64_t period = 2 * (n - 1);
  const auto folded = torch::remainder(i, period);
  return torch::where(folded < n, folded, period - folded);
}

// The source index of each of n + 2 pad positions of a reflect padding.
torch::Tensor reflect_index(int64_t n, int64_t pad, const torch::Device& device) {
  return reflect(torch::arange(-pad, n + pad, torch::TensorOptions().dtype(torch::kLong).device(device)), n);
}

// Each output pixel reads (undoing, in turn, the shift with its mirrored
// border, the quarter turns and the flip) one input pixel: indices built on
// the device, so nothing of image size crosses from the host.
torch::Tensor blit(const torch::Tensor& x, const std::vector<const ImageAugmentation*>& plans) {
  const int64_t n = x.size(0), channels = x.size(1), size = x.size(2);
  std::vector<int64_t> parameters;
  for (const ImageAugmentation* a : plans)
    for (int64_t v : {int64_t{a->shift_y}, int64_t{a->shift_x}, int64_t{((a->quarter_turns % 4) + 4) % 4}, int64_t{a->flip_x}})
      parameters.push_back(v);
  const auto per_image = torch::tensor(parameters, torch::kLong).view({n, 4, 1, 1}).to(x.device());
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  const auto i = torch::arange(size, options).view({1, size, 1}), j = torch::arange(size, options).view({1, 1, size});
  const auto r = reflect(i - per_image.select(1, 0), size), c = reflect(j - per_image.select(1, 1), size);
  const auto turns = per_image.select(1, 2);
  const int64_t last = size - 1;
  // rot90 k times reads (r, c) from (c, S-1-r), (S-1-r, S-1-c), (S-1-c, r).
  auto row = torch::where(turns == 1, c, torch::where(turns == 2, last - r, torch::where(turns == 3, last - c, r)));
  auto column = torch::where(turns == 1, last - r, torch::where(turns == 2, last - c, torch::where(turns == 3, r, c)));
  column = torch::where(per_image.select(1, 3) == 1, last - column, column);
  const auto index = (row * size + column).view({n, 1, size * size});
  return x.reshape({n, channels, size * size}).gather(2, index.expand({n, channels, size * size})).view(x.sizes());
}

torch::Tensor taps(bool flipped, const torch::Tensor& like, int axis) {
  std::vector<float> values;
  for (int i = 0; i < kTaps; ++i) values.push_back(static_cast<float>(kSym6[static_cast<size_t>(flipped ? kTaps - 1 - i : i)]));
  auto t = torch::tensor(values, like.options().dtype(torch::kFloat)).to(like.dtype());
  return axis == 3 ? t.view({1, 1, 1, kTaps}) : t.view({1, 1, kTaps, 1});
}

// Upsamples axis 2 or 3 by 2: zeros between the pixels, then the wavelet:
// u[n] = sum_m x[m] h[n - 2m + 5].
torch::Tensor upsample_axis(const torch::Tensor& x, int axis) {
  const auto sizes = x.sizes().vec();
  auto z = torch::stack({x, torch::zeros_like(x)}, axis + 1);
  std::vector<int64_t> shape(sizes);
  shape[static_cast<size_t>(axis)] *= 2;
  z = z.reshape({sizes[0] * sizes[1], 1, shape[2], shape[3]});
  const std::vector<int64_t> pad = axis == 3 ? std::vector<int64_t>{6, 5, 0, 0} : std::vector<int64_t>{0, 0, 6, 5};
  z = torch::constant_pad_nd(z, pad, 0);
  return torch::conv2d(z, taps(true, x, axis)).view(shape);
}

// Downsamples axis 2 or 3 by 2: y[m] = sum_i h[i] s[2m + i], no padding.
torch::Tensor downsample_axis(const torch::Tensor& s, int axis) {
  const int64_t n = s.size(0), c = s.size(1);
  auto flat = s.reshape({n * c, 1, s.size(2), s.size(3)});
  const std::vector<int64_t> stride = axis == 3 ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{2, 1};
  auto y = torch::conv2d(flat, taps(false, s, axis), {}, stride);
  return y.view({n, c, y.size(2), y.size(3)});
}

// Bilinear samples of u [N, C, H, W] at (rows, columns) [N, L, L] in pixel
// indices; outside u: 0.
torch::Tensor bilinear_samples(const torch::Tensor& u, const torch::Tensor& rows, const torch::Tensor& columns) {
  const int64_t n = u.size(0), channels = u.size(1), height = u.size(2), width = u.size(3);
  const int64_t points = rows.size(1) * rows.size(2);
  const auto flat = u.reshape({n, channels, height * width});
  const auto row0 = rows.floor(), column0 = columns.floor();
  const auto row_fraction = (rows - row0).view({n, 1, points}), column_fraction = (columns - column0).view({n, 1, points});
  torch::Tensor out;
  for (int dy = 0; dy < 2; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      const auto r = (row0 + dy).view({n, 1, points}), c = (column0 + dx).view({n, 1, points});
      const auto inside = (r >= 0) & (r < height) & (c >= 0) & (c < width);
      const auto weight = (dy ? row_fraction : 1 - row_fraction) * (dx ? column_fraction : 1 - column_fraction) *
                          inside.to(u.dtype());
      const auto index = (r.clamp(0, height - 1) * width + c.clamp(0, width - 1)).to(torch::kLong);
      const auto term = flat.gather(2, index.expand({n, channels, points})) * weight;
      out = out.defined() ? out + term : term;
    }
  return out.view({n, channels, rows.size(1), rows.size(2)});
}

torch::Tensor warp(const torch::Tensor& x, const std::vector<const ImageAugmentation*>& plans) {
  const int64_t n = x.size(0), size = x.size(2);
  const double centre = (size - 1) / 2.0, delay = wavelet_delay();
  // The downsampling reads L = 2 size + 10 samples per axis; sample k
  // stands at output position (k - delay) / 2.
  const int64_t samples = 2 * size + kTaps - 2;
  const double first = (0 - delay) / 2 - centre, last = (samples - 1 - delay) / 2 - centre;
  double excess_x = 0, excess_y = 0;
  std::vector<float> inverse;
  for (const ImageAugmentation* a : plans) {
    const auto& m = a->inverse;
    for (double ox : {first, last})
      for (double oy : {first, last}) {
        excess_x = std::max(excess_x, std::abs(m[0] * ox + m[1] * oy + m[2]) - centre);
        excess_y = std::max(excess_y, std::abs(m[3] * ox + m[4] * oy + m[5]) - centre);
      }
    for (double v : m) inverse.push_back(static_cast<float>(v));
  }
  // Reflection cannot reach further than one image width.
  const auto pad_x = static_cast<int64_t>(std::clamp(std::ceil(excess_x + kPaddingMargin), 0.0, double(size - 1)));
  const auto pad_y = static_cast<int64_t>(std::clamp(std::ceil(excess_y + kPaddingMargin), 0.0, double(size - 1)));
  auto padded = x.index_select(3, reflect_index(size, pad_x, x.device()))
                    .index_select(2, reflect_index(size, pad_y, x.device()));
  const auto up = upsample_axis(upsample_axis(padded, 3), 2);

  const auto float_options = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  const auto position = (torch::arange(samples, float_options) - delay) / 2 - centre;
  const auto ox = position.view({1, 1, samples}), oy = position.view({1, samples, 1});
  const auto m = torch::tensor(inverse, torch::kFloat).view({n, 6, 1, 1}).to(x.device());
  const auto sx = m.select(1, 0) * ox + m.select(1, 1) * oy + m.select(1, 2);
  const auto sy = m.select(1, 3) * ox + m.select(1, 4) * oy + m.select(1, 5);
  // Input position p (centred) is upsampled pixel 2 (p + centre + pad) - 5 + delay.
  const auto columns = 2 * (sx + centre + pad_x) - 5 + delay;
  const auto rows = 2 * (sy + centre + pad_y) - 5 + delay;
  const auto sampled = bilinear_samples(up, rows, columns).to(x.dtype());
  return downsample_axis(downsample_axis(sampled, 3), 2);
}

torch::Tensor recolour(const torch::Tensor& x, const std::vector<const ImageAugmentation*>& plans) {
  const int64_t n = x.size(0), channels = x.size(1);
  std::vector<float> matrices, offsets;
  for (const ImageAugmentation* a : plans)
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t k = 0; k < channels; ++k) matrices.push_back(static_cast<float>(a->colour[static_cast<size_t>(4 * c + k)]));
      offsets.push_back(static_cast<float>(a->colour[static_cast<size_t>(4 * c + 3)]));
    }
  const auto options = torch::TensorOptions().dtype(torch::kFloat);
  const auto matrix = torch::tensor(matrices, options).view({n, channels, channels}).to(x.device(), x.dtype());
  const auto offset = torch::tensor(offsets, options).view({n, channels, 1}).to(x.device(), x.dtype());
  const auto flat = x.reshape({n, channels, -1});
  const auto out = channels == 1 ? flat * matrix + offset : matrix.bmm(flat) + offset;
  return out.view(x.sizes());
}

using Stage = std::function<torch::Tensor(const torch::Tensor&, const std::vector<const ImageAugmentation*>&)>;

// `stage` on the images `selected` picks; the others as they were.
torch::Tensor on_selected(const torch::Tensor& images, const std::vector<ImageAugmentation>& plan,
                          const std::function<bool(const ImageAugmentation&)>& selected, const Stage& stage) {
  std::vector<int64_t> chosen;
  std::vector<const ImageAugmentation*> plans;
  for (size_t i = 0; i < plan.size(); ++i)
    if (selected(plan[i])) {
      chosen.push_back(static_cast<int64_t>(i));
      plans.push_back(&plan[i]);
    }
  if (chosen.empty()) return images;
  if (chosen.size() == plan.size()) return stage(images.contiguous(), plans);
  const auto index = torch::tensor(chosen, torch::kLong).to(images.device());
  return images.index_copy(0, index, stage(images.index_select(0, index).contiguous(), plans));
}

}  // namespace

bool ImageAugmentation::warps() const { return inverse != std::array<double, 6>{1, 0, 0, 0, 1, 0}; }

bool ImageAugmentation::recolours() const {
  return colour != std::array<double, 12>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
}

std::vector<ImageAugmentation> sample_augmentations(int64_t batch, int size, int channels, double p,
                                                    std::mt19937_64& rng) {
  std::vector<ImageAugmentation> plan(static_cast<size_t>(std::max<int64_t>(0, batch)));
  if (p <= 0) return plan;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  constexpr double kPi = 3.14159265358979323846;
  const double rotation_p = 1 - std::sqrt(std::max(0.0, 1 - p));
  auto happens = [&](double probability) { return unit(rng) < probability; };
  for (ImageAugmentation& a : plan) {
    if (happens(p)) a.flip_x = unit(rng) < 0.5;
    if (happens(p)) a.quarter_turns = std::uniform_int_distribution<int>(0, 3)(rng);
    if (happens(p)) {
      a.shift_x = static_cast<int>(std::lround((unit(rng) * 0.25 - 0.125) * size));
      a.shift_y = static_cast<int>(std::lround((unit(rng) * 0.25 - 0.125) * size));
    }
    // The forward map is translate * rotate * anisotropic * rotate * isotropic;
    // the warp needs its inverse, the inverses in the opposite order.
    Matrix3 inverse = scale2(1, 1);
    if (happens(p)) {
      const double s = std::exp2(0.2 * normal(rng));
      inverse = multiply(inverse, scale2(1 / s, 1 / s));
    }
    if (happens(rotation_p)) inverse = multiply(inverse, rotate2(-(unit(rng) * 2 - 1) * kPi));
    if (happens(p)) {
      const double s = std::exp2(0.2 * normal(rng));
      inverse = multiply(inverse, scale2(1 / s, s));
    }
    if (happens(rotation_p)) inverse = multiply(inverse, rotate2(-(unit(rng) * 2 - 1) * kPi));
    if (happens(p)) {
      const double tx = 0.125 * size * normal(rng), ty = 0.125 * size * normal(rng);
      inverse = multiply(inverse, translate2(-tx, -ty));
    }
    for (size_t i = 0; i < 6; ++i) a.inverse[i] = inverse[i];

    Matrix4 colour = identity4();
    if (happens(p)) colour = multiply(brightness4(0.2 * normal(rng)), colour);
    if (happens(p)) colour = multiply(scale4(std::exp2(0.5 * normal(rng))), colour);
    if (channels == 3) {
      if (happens(p) && unit(rng) < 0.5) colour = multiply(luma_flip4(), colour);
      if (happens(p)) colour = multiply(hue_rotation4((unit(rng) * 2 - 1) * kPi), colour);
      if (happens(p)) colour = multiply(saturation4(std::exp2(normal(rng))), colour);
    }
    for (size_t i = 0; i < 12; ++i) a.colour[i] = colour[i];
  }
  return plan;
}

torch::Tensor apply_augmentations(const torch::Tensor& images, const std::vector<ImageAugmentation>& plan) {
  if (images.dim() != 4 || images.size(2) != images.size(3) || (images.size(1) != 1 && images.size(1) != 3))
    throw std::invalid_argument("augmentation takes square images [N, 1 or 3, S, S], not " +
                                std::string(c10::str(images.sizes())));
  if (static_cast<int64_t>(plan.size()) != images.size(0))
    throw std::invalid_argument("an augmentation plan for " + std::to_string(plan.size()) + " images applied to " +
                                std::to_string(images.size(0)));
  const bool channels_last = images.size(1) > 1 && images.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
                             !images.is_contiguous();
  auto out = on_selected(images, plan, [](const ImageAugmentation& a) { return a.blits(); }, blit);
  out = on_selected(out, plan, [](const ImageAugmentation& a) { return a.warps(); }, warp);
  out = on_selected(out, plan, [](const ImageAugmentation& a) { return a.recolours(); }, recolour);
  if (channels_last && !out.is_same(images)) out = out.contiguous(torch::MemoryFormat::ChannelsLast);
  return out;
}

torch::Tensor augment(const torch::Tensor& images, double p, std::mt19937_64& rng) {
  if (p <= 0) return images;
  return apply_augmentations(images, sample_augmentations(images.size(0), static_cast<int>(images.size(2)),
                                                          static_cast<int>(images.size(1)), p, rng));
}

}  // namespace sg
