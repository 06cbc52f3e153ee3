"""The loop body of rosinality's stylegan2-pytorch train.py on this CPU, timed
as bench_model --arch stylegan2 times ours: each kind of iteration (plain,
with the path-length step, with both lazy steps) after a warm-up, weighed as
a 16-iteration cycle runs them (12, 3, 1); batch B, mixing 0.9, EMA, random
real images (no data loading, as ours).

usage: /usr/bin/python3 tools/bench_stylegan2_reference.py REFERENCE_CHECKOUT
           [--size 32] [--batch 16] [--iterations 1]

REFERENCE_CHECKOUT is a clone of stylegan2-pytorch kept outside this project
(see stylegan2_reference_loop.py for how it is run on a CPU).
"""
import argparse
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stylegan2_reference_loop import ReferenceTraining, load_reference  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=1, help="timed per kind")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, gradfix = load_reference(args.reference)
    torch.manual_seed(0)
    random.seed(0)
    training = ReferenceTraining(model, gradfix, args.size)
    real = torch.randn(args.batch, 3, args.size, args.size)

    def time_kind(offset):
        training.iteration(offset, real.clone())  # warm-up
        start = time.perf_counter()
        for k in range(1, args.iterations + 1):
            training.iteration(16 * k + offset, real.clone())
        return (time.perf_counter() - start) * 1000 / args.iterations

    both, path, plain = time_kind(0), time_kind(4), time_kind(1)
    ms = (12 * plain + 3 * path + both) / 16
    print(f"reference stylegan2-pytorch, {torch.get_num_threads()} threads, width 512, size {args.size}, "
          f"batch {args.batch}: plain {plain:.1f}, +path {path:.1f}, +path+R1 {both:.1f}; "
          f"{ms:.1f} ms/iteration, {args.batch * 1000 / ms:.1f} images/s")


if __name__ == "__main__":
    main()
