"""Writes files as the reference trainer (style-based-gan-pytorch) saves
them, from one of our checkpoints, with Python's own torch:

  train_step-N.model   torch.save({'generator', 'discriminator', 'g_optimizer',
                       'd_optimizer', 'g_running'}) of OrderedDict state dicts
                       (with _metadata, as Module.state_dict() makes them) and
                       Adam state dicts that torch.optim.Adam itself wrote
                       after one more step (every gradient 0.01)
  legacy-train_step-N.model  the same, _use_new_zipfile_serialization=False
  000100.model         torch.save(g_running.state_dict()): the EMA alone
  with-args.model      train_step plus an argparse.Namespace (as stylegan2's)
  not-a-checkpoint.pt  a dict of other things

usage: make_reference_checkpoints.py CHECKPOINT LAYOUT OUTDIR STEP
"""
import argparse
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from reference_optimizers import load_layout, stepped_optimizers  # noqa: E402


def state_dict(tensors):
    out = collections.OrderedDict((k, v.clone()) for k, v in tensors.items())
    out._metadata = collections.OrderedDict([("", {"version": 1})])
    return out


def main(checkpoint, layout_path, outdir, step):
    ckpt = torch.load(checkpoint)
    g_optim, d_optim = stepped_optimizers(ckpt, load_layout(layout_path))

    reference = {
        "generator": state_dict(ckpt["generator"]),
        "discriminator": state_dict(ckpt["discriminator"]),
        "g_optimizer": g_optim.state_dict(),
        "d_optimizer": d_optim.state_dict(),
        "g_running": state_dict(ckpt["g_running"]),
    }
    torch.save(reference, os.path.join(outdir, f"train_step-{step}.model"))
    torch.save(reference, os.path.join(outdir, f"legacy-train_step-{step}.model"),
               _use_new_zipfile_serialization=False)
    torch.save(state_dict(ckpt["g_running"]), os.path.join(outdir, "000100.model"))
    torch.save(dict(reference, args=argparse.Namespace(size=16, r1=10.0)), os.path.join(outdir, "with-args.model"))
    torch.save({"weights": torch.zeros(3), "epoch": 7}, os.path.join(outdir, "not-a-checkpoint.pt"))
    print("OK")


if __name__ == "__main__":
    main(*sys.argv[1:])
