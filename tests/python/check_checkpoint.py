"""Reads one of our checkpoints as a Python user would: plain torch.load.

usage: check_checkpoint.py CHECKPOINT LAYOUT

LAYOUT lists, one per line, "SECTION KIND NAME D0 D1 ...": the state-dict
entries the reference's full model (all nine blocks) has at this width, in
order; KIND is param or buffer. Checks that generator, g_running and
discriminator hold exactly those names, in that order, with those shapes,
and that g_optimizer / d_optimizer load into torch.optim.Adam over those
parameters (the reference's groups: synthesis, then mapping with mult 0.01)
and take a step. Prints OK, or the first difference and exits 1.
"""
import sys

import torch


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

    def parameters(section):
        return [torch.nn.Parameter(ckpt[section][name].clone())
                for kind, name, _ in layout[section] if kind == "param"]

    g_params = [(name, p) for (kind, name, _), p in
                zip([e for e in layout["generator"] if e[0] == "param"], parameters("generator"))]
    synthesis = [p for name, p in g_params if name.startswith("generator.")]
    mapping = [p for name, p in g_params if name.startswith("style.")]
    g_optim = torch.optim.Adam(synthesis, lr=0.001, betas=(0.0, 0.99))
    g_optim.add_param_group({"params": mapping, "lr": 0.001 * 0.01, "mult": 0.01})
    g_optim.load_state_dict(ckpt["g_optimizer"])
    d_optim = torch.optim.Adam(parameters("discriminator"), lr=0.001, betas=(0.0, 0.99))
    d_optim.load_state_dict(ckpt["d_optimizer"])
    for optim in (g_optim, d_optim):
        for group in optim.param_groups:
            for p in group["params"]:
                p.grad = torch.full_like(p, 0.01)
        optim.step()
    if g_optim.param_groups[1].get("mult") != 0.01:
        sys.exit("g_optimizer: the mapping group lost its mult")
    print("OK")


if __name__ == "__main__":
    main(*sys.argv[1:])
