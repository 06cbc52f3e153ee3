"""rosinality's stylegan2-pytorch trained as its train.py trains, on one of
our LMDBs, for bench_stylegan2_learning.sh: the same loop body (see
stylegan2_reference_loop.py), its data pipeline (a fresh random order every
epoch, the last incomplete batch dropped, RandomHorizontalFlip, [0, 255] to
[-1, 1]), and at the end a checkpoint in train.py's layout that sg_eval reads.

usage: /usr/bin/python3 tools/bench_stylegan2_learning_reference.py REFERENCE_CHECKOUT LMDB OUT.pt
           [--size 32] [--channels 64] [--n_mlp 8] [--batch 16] [--iter 1000] [--seed 1] [--threads 1]

Records are read as our LMDB layout stores them (key "{size}-{index:05d}",
RAW pixels or PNG). Needs Debian's python3-torch, python3-lmdb, python3-pil.
"""
import argparse
import io
import os
import random
import sys
import time

import lmdb
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stylegan2_reference_loop import ReferenceTraining, load_reference  # noqa: E402


def read_records(path, size):
    """Every record of the main (training) database at `size`, as uint8 NCHW."""
    env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False)
    images = []
    with env.begin(write=False) as txn:
        length = int(txn.get(b"length").decode())
        width = max(5, len(str(length - 1)))
        for index in range(length):
            key = f"{size}-{str(index).zfill(width)}".encode()
            value = txn.get(key)
            if value is None:
                raise SystemExit(f"{path}: no record {key.decode()}")
            if value[:8] == b"\x89PNG\r\n\x1a\n":
                pixels = np.array(Image.open(io.BytesIO(value)))
            elif len(value) in (size * size, 3 * size * size):
                pixels = np.frombuffer(value, dtype=np.uint8).reshape(size, size, -1)
            else:
                raise SystemExit(f"{path}: record {key.decode()} is neither PNG nor {size}x{size} RAW")
            if pixels.ndim == 2:
                pixels = pixels[:, :, None]
            images.append(torch.from_numpy(pixels.copy()).permute(2, 0, 1))
    return torch.stack(images)


def batches(images, batch, generator):
    """train.py's loader: RandomSampler (a new order every epoch), drop_last,
    RandomHorizontalFlip per image, ToTensor and Normalize(0.5, 0.5)."""
    while True:
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(order) - batch + 1, batch):
            x = images[order[start:start + batch]].float() / 255
            flip = torch.rand(batch, generator=generator) < 0.5
            x[flip] = x[flip].flip(3)
            yield (x - 0.5) / 0.5


def start_run(reference, lmdb, size, channels, batch, seed, n_mlp=8):
    """The reference's networks and its batch stream as a learning run with
    this seed draws them (stylegan2_reference_streams.py replays the same:
    the seeding order decides the draws)."""
    torch.manual_seed(seed)
    random.seed(seed)
    images = read_records(lmdb, size)
    model, gradfix = load_reference(reference, image_channels=images.shape[1], max_channels=channels)
    training = ReferenceTraining(model, gradfix, size, n_mlp=n_mlp)
    return training, batches(images, batch, torch.Generator().manual_seed(seed))


def train_py_args(size, batch, iterations, n_mlp=8):
    """train.py's `args`, as its checkpoints hold them, for these runs."""
    return argparse.Namespace(size=size, latent=512, n_mlp=n_mlp, channel_multiplier=2, batch=batch, lr=0.002,
                              r1=10.0, path_regularize=2.0, path_batch_shrink=2, d_reg_every=16, g_reg_every=4,
                              mixing=0.9, iter=iterations, augment=False, augment_p=0.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("lmdb")
    parser.add_argument("out")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=64, help="width cap, as our --channels")
    parser.add_argument("--n_mlp", type=int, default=8, help="mapping layers, as our --n_mlp (the demo's 2)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--iter", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.n_mlp <= 8:
        parser.error(f"--n_mlp {args.n_mlp}: mapping layers must be 1 to 8, as sg_train's")
    torch.set_num_threads(args.threads)
    training, data = start_run(args.reference, args.lmdb, args.size, args.channels, args.batch, args.seed,
                               args.n_mlp)
    start = time.perf_counter()
    for i in range(args.iter):
        d_loss, g_loss = training.iteration(i, next(data))
        if (i + 1) % 100 == 0:
            print(f"reference {i + 1}/{args.iter}: d {d_loss:.3f} g {g_loss:.3f}, "
                  f"{(time.perf_counter() - start) / (i + 1):.2f} s/iteration", file=sys.stderr, flush=True)
    torch.save(training.checkpoint(train_py_args(args.size, args.batch, args.iter, args.n_mlp)), args.out)


if __name__ == "__main__":
    main()
