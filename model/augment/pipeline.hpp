#pragma once
// Adaptive discriminator augmentation's image pipeline (Karras et al. 2020,
// "Training Generative Adversarial Networks with Limited Data"): everything
// D sees, real or generated, goes through random transforms, each applied
// to each image with probability p, so that D cannot memorise a small
// training set while G, seeing D only through the same transforms, still
// learns the un-augmented distribution (the transforms do not "leak" while
// p stays below about 0.8).
//
// Per image, in this order:
//   blit   x-flip, quarter turns, integer translation (up to 1/8 of the size,
//          reflected at the border): exact pixel copies;
//   warp   isotropic scale, rotation, anisotropic scale, rotation, fractional
//          translation, composed into one affine map and resampled once:
//          reflect padding, 2x upsampling with the orthonormal symlet-6
//          wavelet, bilinear sampling, and 2x downsampling with the same
//          wavelet (which undoes the upsampling exactly), so a warp neither
//          aliases nor blurs more than its bilinear step;
//   colour brightness and contrast; on RGB also luma flip, hue rotation and
//          saturation.
// Only the images a stage selects go through it: an image no transform
// selected comes out bit-identical. Every operation is a gather, a
// convolution or an affine map of the pixels, so gradients reach the input
// images to any order (R1 and the WGAN-GP penalty differentiate through it).
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace sg {

// What one image undergoes.
struct ImageAugmentation {
  // Blit: out = shift(rot90^quarter_turns(flip(in))); rot90 as torch.rot90
  // over (rows, columns), the shift moving content right / down.
  bool flip_x = false;
  int quarter_turns = 0;  // 0..3
  int shift_x = 0, shift_y = 0;
  // Warp: the output pixel at centred coordinates (x, y) (pixels from the
  // image centre, x right, y down) reads the input at
  // (inverse[0] x + inverse[1] y + inverse[2], inverse[3] x + inverse[4] y + inverse[5]).
  std::array<double, 6> inverse{1, 0, 0, 0, 1, 0};
  // Colour: out_c = sum_k colour[4c + k] in_k + colour[4c + 3], values in
  // [-1, 1] (a grey image uses colour[0] and colour[3]).
  std::array<double, 12> colour{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};

  bool blits() const { return flip_x || quarter_turns % 4 != 0 || shift_x != 0 || shift_y != 0; }
  bool warps() const;
  bool recolours() const;
};

// Draws what each of `batch` images undergoes at probability p: each
// transform with probability p, the two rotations with 1 - sqrt(1 - p) each
// (so that one of them happens with p), parameters as the paper's defaults.
// p 0 draws nothing from rng.
std::vector<ImageAugmentation> sample_augmentations(int64_t batch, int size, int channels, double p,
                                                    std::mt19937_64& rng);

// Applies `plan` (one entry per image) to square images [N, C, S, S].
// C 1 or 3. The result keeps the input's memory format.
torch::Tensor apply_augmentations(const torch::Tensor& images, const std::vector<ImageAugmentation>& plan);

// Both: with p 0 the images themselves, untouched, and rng unused.
torch::Tensor augment(const torch::Tensor& images, double p, std::mt19937_64& rng);

}  // namespace sg
