"""A TorchScript network with Inception-v3's architecture and NVIDIA's
inception-2015-12-05.pt call signature (uint8 NCHW RGB in [0, 255],
return_features=True, its own bilinear resize to 299x299), with RANDOM
weights: for timing sg_eval's feature extraction where the real file is not
at hand. Its FID values mean nothing.

usage: /usr/bin/python3 tools/make_timing_inception.py OUT.pt   (needs python3-torchvision)
"""
import sys

import torch
import torch.nn.functional as F
import torchvision


class TimingInception(torch.nn.Module):
    def __init__(self):
        super().__init__()
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
        net.fc = torch.nn.Identity()
        # Traced: torchvision's forward returns a named tuple that scripting rejects.
        self.net = torch.jit.trace(net.eval(), torch.zeros(1, 3, 299, 299))

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = img.to(torch.float32)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = (x - 128) / 128
        features = self.net(x)
        return features


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.jit.script(TimingInception().eval()).save(sys.argv[1])
