"""The reference side of bench_stylegan2_lockstep.sh: stylegan2-pytorch's
train.py loop body (stylegan2_reference_loop.py) from fixed weights on fixed
batches, one line per iteration in bench_stylegan2_lockstep's format.

usage: /usr/bin/python3 tools/bench_stylegan2_lockstep_reference.py REFERENCE_CHECKOUT WORK
           [--prepare LMDB] [--iterations 40] [--seed 7] [--threads 1]

--prepare: first build the reference's networks (torch seed 0; 32x32, widths
capped at 64, the LMDB's channels) and save WORK/init.pt (train.py's layout)
and WORK/batches.pt (the first 16 * 5 records at 32x32, five batches of 16,
in [-1, 1]); both sides then start from these. Mixing is 0 unless
--mixing-from gives our lines (bench_stylegan2_lockstep --mixing), whose
mixing draws are then replayed here: the coin is Python's `random` in the
reference and a C++ generator in ours, so they could not be drawn alike.
--double trains in float64.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_stylegan2_learning_reference import read_records  # noqa: E402
from stylegan2_reference_loop import ReferenceTraining, load_reference  # noqa: E402

SIZE, WIDTH, BATCH, BATCHES = 32, 64, 16, 5


def magnitude(module):
    return sum(p.detach().double().abs().sum().item() for p in module.parameters())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("work")
    parser.add_argument("--prepare", metavar="LMDB")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--double", action="store_true", help="train in float64 (see bench_stylegan2_lockstep)")
    parser.add_argument("--mixing-from", metavar="OURS_TXT",
                        help="replay the style-mixing draws bench_stylegan2_lockstep --mixing printed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    init, batches = os.path.join(args.work, "init.pt"), os.path.join(args.work, "batches.pt")
    if args.prepare:
        images = read_records(args.prepare, SIZE)[:BATCH * BATCHES]
        if len(images) < BATCH * BATCHES:
            raise SystemExit(f"{args.prepare}: fewer than {BATCH * BATCHES} records at {SIZE}x{SIZE}")
        data = (images.float() / 255 - 0.5) / 0.5
        torch.save({"batches": data.reshape(BATCHES, BATCH, *data.shape[1:])}, batches)
        channels = data.shape[1]
    else:
        channels = torch.load(batches)["batches"].shape[2]
    model, gradfix = load_reference(args.reference, image_channels=channels, max_channels=WIDTH)
    torch.manual_seed(0)
    training = ReferenceTraining(model, gradfix, SIZE, mixing=0.0)
    if args.prepare:
        saved = argparse.Namespace(size=SIZE, latent=512, n_mlp=8, channel_multiplier=2, batch=BATCH, lr=0.002,
                                   r1=10.0, path_regularize=2.0, path_batch_shrink=2, d_reg_every=16,
                                   g_reg_every=4, mixing=0.0, iter=0, augment=False, augment_p=0.0)
        torch.save(training.checkpoint(saved), init)
    if args.double:
        torch.set_default_dtype(torch.float64)
        for module in (training.generator, training.discriminator, training.g_ema):
            module.double()
        # The optimisers hold the very parameters (.double() converts them in place).
    state = torch.load(init)
    training.generator.load_state_dict(state["g"])
    training.discriminator.load_state_dict(state["d"])
    training.g_ema.load_state_dict(state["g_ema"])
    data = torch.load(batches)["batches"].to(torch.get_default_dtype())
    if args.mixing_from:
        draws = [int(x) for line in open(args.mixing_from) for x in line.split(" mix ")[1].split(",")]
        training.mixing_plan = iter(draws)
    torch.manual_seed(args.seed)
    for i in range(args.iterations):
        d_loss, g_loss = training.iteration(i, data[i % len(data)].clone())
        print(f"{i} d {d_loss:.12f} g {g_loss:.12f} path_mean {float(training.mean_path_length):.12f} "
              f"G {magnitude(training.generator):.9f} D {magnitude(training.discriminator):.9f} "
              f"g_ema {magnitude(training.g_ema):.9f}", flush=True)


if __name__ == "__main__":
    main()
