"""Reads one of our checkpoints as a Python user would: plain torch.load.

usage: check_checkpoint.py CHECKPOINT LAYOUT

LAYOUT lists, one per line, "SECTION KIND NAME D0 D1 ...": the state-dict
entries the reference's full model (all nine blocks) has at this width, in
order; KIND is param or buffer. Checks that generator, g_running and
discriminator hold exactly those names, in that order, with those shapes,
and that g_optimizer / d_optimizer load into torch.optim.Adam over those
parameters (the reference's groups: synthesis, then mapping with mult 0.01)
and take a step (reference_optimizers.py). Prints OK, or the first difference and exits 1.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from reference_optimizers import load_layout, stepped_optimizers  # noqa: E402


def main(checkpoint, layout_path):
    ckpt = torch.load(checkpoint)
    layout = {}
    for line in open(layout_path):
        section, kind, name, *shape = line.split()
        layout.setdefault(section, []).append((kind, name, [int(d) for d in shape]))
    for section in ("generator", "g_running", "discriminator"):
        state = ckpt[section]
        names = [name for _, name, _ in layout[section]]
        if list(state.keys()) != names:
            missing = [n for n in names if n not in state]
            extra = [n for n in state if n not in names]
            sys.exit(f"{section}: names differ (missing {missing[:5]}, extra {extra[:5]}, or another order)")
        for _, name, shape in layout[section]:
            if list(state[name].shape) != shape:
                sys.exit(f"{section}.{name}: shape {list(state[name].shape)}, expected {shape}")

    g_optim, _ = stepped_optimizers(ckpt, load_layout(layout_path))
    if g_optim.param_groups[1].get("mult") != 0.01:
        sys.exit("g_optimizer: the mapping group lost its mult")
    print("OK")


if __name__ == "__main__":
    main(*sys.argv[1:])
