"""Writes a checkpoint as stylegan2-pytorch's train.py does — its args an
argparse.Namespace, no metadata of ours — from the tensors of one of ours,
with every tensor changed so that a reader that ignored them would be caught.

usage: make_stylegan2_reference_checkpoint.py OURS OUT [legacy]
"""
import argparse
import sys

import torch


def main(ours, out, legacy=None):
    ckpt = torch.load(ours)
    changed = {}
    for section in ("g", "d", "g_ema"):
        changed[section] = {k: v + 0.5 if v.is_floating_point() else v for k, v in ckpt[section].items()}
    args = argparse.Namespace(size=ckpt["args"]["size"], latent=ckpt["args"]["latent"], n_mlp=ckpt["args"]["n_mlp"],
                              channel_multiplier=ckpt["args"]["channel_multiplier"], lr=0.002, batch=8,
                              r1=10, path_regularize=2, d_reg_every=16, g_reg_every=4, mixing=0.9, augment=False)
    reference = {**changed, "g_optim": ckpt["g_optim"], "d_optim": ckpt["d_optim"], "args": args, "ada_aug_p": 0.0}
    torch.save(reference, out, _use_new_zipfile_serialization=legacy is None)
    print("OK")


if __name__ == "__main__":
    main(*sys.argv[1:])
