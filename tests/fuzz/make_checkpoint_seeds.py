"""Seeds for fuzz_checkpoint: what Python's torch.save writes (zip and
legacy), small: a bare state dict (the reference's NNNNNN.model shape) and a
training dict with an optimiser state and an argparse.Namespace."""
import argparse
import collections
import os
import sys

import torch


def main(out):
    torch.manual_seed(0)
    state = collections.OrderedDict([
        ("generator.progression.0.conv1.input", torch.randn(1, 4, 4, 4)),
        ("generator.progression.0.noise1.weight_orig", torch.zeros(1, 4, 1, 1)),
        ("generator.to_rgb.0.conv.weight_orig", torch.randn(1, 4, 1, 1)),
        ("style.1.linear.weight_orig", torch.randn(8, 8)),
    ])
    state._metadata = collections.OrderedDict([("", {"version": 1})])
    parameter = torch.nn.Parameter(torch.randn(3, 2))
    optimizer = torch.optim.Adam([parameter], betas=(0.0, 0.99))
    parameter.grad = torch.ones_like(parameter)
    optimizer.step()
    training = {"generator": state, "discriminator": collections.OrderedDict(), "g_running": state,
                "g_optimizer": optimizer.state_dict(), "d_optimizer": optimizer.state_dict(),
                "args": argparse.Namespace(size=16)}
    torch.save(state, os.path.join(out, "ema.model"))
    torch.save(state, os.path.join(out, "ema-legacy.model"), _use_new_zipfile_serialization=False)
    torch.save(training, os.path.join(out, "train_step.model"))
    view = torch.arange(12.0)
    torch.save({"a": view[2:8].view(2, 3), "b": view}, os.path.join(out, "views.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
