"""TorchScript stand-ins for NVIDIA's vgg16.pt, made by Debian's python3-torch
for tests/test_projection.cpp (the real file is not in Debian and nothing is
downloaded): one with vgg16.pt's call signature (forward(img,
resize_images=True, return_lpips=False), img float RGB in [0, 255]) whose
LPIPS output is unit-normalised pooled pixels, and one whose forward takes
no return_lpips.

usage: /usr/bin/python3 tests/python/lpips_standin.py OUT_DIR
"""
import os
import sys

import torch


class LpipsStandIn(torch.nn.Module):
    def forward(self, img: torch.Tensor, resize_images: bool = True, return_lpips: bool = False) -> torch.Tensor:
        x = torch.nn.functional.avg_pool2d(img / 255.0, 2).flatten(1)
        if return_lpips:
            return x / x.square().sum(1, keepdim=True).sqrt()
        return x


class FeaturesOnly(torch.nn.Module):
    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        return img.float().flatten(1)


def main():
    out = sys.argv[1]
    torch.jit.script(LpipsStandIn()).save(os.path.join(out, "lpips.pt"))
    torch.jit.script(FeaturesOnly()).save(os.path.join(out, "no_lpips.pt"))


if __name__ == "__main__":
    main()
