#pragma once
// Differentiable image distances for the projection: structural similarity
// at one scale and over several (MS-SSIM, Wang et al. 2003), and the noise
// maps' regulariser of stylegan2-ada-pytorch's projector.
#include <torch/torch.h>

#include <vector>

namespace sg {

// SSIM of images in [-1, 1] ([n, c, h, w], compared as [0, 1] with
// C1 = 0.01^2, C2 = 0.03^2), averaged per image: [n]. A Gaussian window
// (sigma 1.5, 11 taps, fewer on images smaller than that) with reflected
// borders, so every pixel counts at every size down to 4x4.
torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b);

// MS-SSIM per image [n]: contrast-structure at each scale, SSIM at the
// coarsest, weighted with Wang's five exponents over the scales the size
// allows (halving while the side stays >= 8; the weights renormalised), the
// terms clamped at a small positive floor so that their powers stay finite.
torch::Tensor ms_ssim(const torch::Tensor& a, const torch::Tensor& b);

// Sum over the maps and their 2x average-pooled pyramids (down to 8x8) of
// the squared mean products of each map with itself shifted by one pixel,
// across and down: near zero for white noise, large where a map carries
// structure (the projector's penalty, weighted 1e5 there).
torch::Tensor noise_regularization(const std::vector<torch::Tensor>& noise);

}  // namespace sg
