"""Reads one of our StyleGAN2 checkpoints as stylegan2-pytorch's train.py and
generate.py do: plain torch.load, then its keys.

usage: check_stylegan2_checkpoint.py CHECKPOINT

Checks the train.py layout ({'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args'}),
that g and g_ema have the same names and shapes in the same order, that the
optimiser state dicts load into torch.optim.Adam over the networks' parameters
(every state dict entry but the noise maps and blur kernels, which are
buffers) with train.py's lazy-regularisation lr and betas, and that a step
runs. Prints OK, or the first difference and exits 1.
"""
import sys

import torch


def is_buffer(name):
    return name.startswith("noises.") or name.endswith(".kernel")


def adam_over(state, lr, betas):
    params = [torch.nn.Parameter(t.clone()) for name, t in state.items() if not is_buffer(name)]
    return params, torch.optim.Adam(params, lr=lr, betas=betas)


def main(path):
    ckpt = torch.load(path)
    for key in ("g", "d", "g_ema", "g_optim", "d_optim", "args"):
        if key not in ckpt:
            sys.exit(f"missing {key}")
    g, g_ema, d, args = ckpt["g"], ckpt["g_ema"], ckpt["d"], ckpt["args"]
    if [(k, tuple(v.shape)) for k, v in g.items()] != [(k, tuple(v.shape)) for k, v in g_ema.items()]:
        sys.exit("g and g_ema differ in names, shapes or order")
    if not list(g.keys())[0] == "style.1.weight" or "input.input" not in g or "final_linear.1.bias" not in d:
        sys.exit("not stylegan2-pytorch's names")
    for name, saved, model, every in (("g_optim", ckpt["g_optim"], g, args["g_reg_every"]),
                                      ("d_optim", ckpt["d_optim"], d, args["d_reg_every"])):
        ratio = every / (every + 1)
        params, adam = adam_over(model, args["lr"] * ratio, (0 ** ratio, 0.99 ** ratio))
        adam.load_state_dict(saved)
        group = adam.param_groups[0]
        if name == "g_optim" and abs(group["lr"] - args["lr"] * ratio) > 1e-12:
            sys.exit(f"{name}: lr {group['lr']}, train.py's {args['lr'] * ratio}")
        if len(adam.state) != len(params):
            sys.exit(f"{name}: {len(adam.state)} states for {len(params)} parameters")
        for p in params:
            p.grad = torch.randn_like(p)
        adam.step()
    print("OK", len(g), "generator entries,", len(d), "discriminator entries, iteration", ckpt["iteration"])


if __name__ == "__main__":
    main(*sys.argv[1:])
