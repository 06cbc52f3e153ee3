"""The random streams of one reference learning run (bench_stylegan2_learning_reference.py
with --seed SEED), written for bench_stylegan2_lockstep: the reference's
initial weights as its run draws them (train.py's layout) and its first
ITERATIONS batches (its order and flips), so that our training step can be
run on the reference's streams (tools/bench_stylegan2_streams.sh).

usage: /usr/bin/python3 tools/stylegan2_reference_streams.py REFERENCE_CHECKOUT LMDB OUT_DIR
           [--seed 1] [--iterations 1000] [--size 32] [--channels 64] [--batch 16]
Writes OUT_DIR/init-SEED.pt and OUT_DIR/batches-SEED.pt.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_stylegan2_learning_reference import start_run, train_py_args  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("lmdb")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    training, data = start_run(args.reference, args.lmdb, args.size, args.channels, args.batch, args.seed)
    saved = train_py_args(args.size, args.batch, 0)
    os.makedirs(args.out, exist_ok=True)
    torch.save(training.checkpoint(saved), os.path.join(args.out, f"init-{args.seed}.pt"))
    stream = torch.stack([next(data) for _ in range(args.iterations)])
    torch.save({"batches": stream}, os.path.join(args.out, f"batches-{args.seed}.pt"))


if __name__ == "__main__":
    main()
