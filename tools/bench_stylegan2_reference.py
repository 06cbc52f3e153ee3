"""The loop body of rosinality's stylegan2-pytorch train.py on this CPU, timed
as bench_model --arch stylegan2 times ours: each kind of iteration (plain,
with the path-length step, with both lazy steps) after a warm-up, weighed as
a 16-iteration cycle runs them (12, 3, 1); batch B, mixing 0.9, EMA, random
real images (no data loading, as ours).

usage: /usr/bin/python3 tools/bench_stylegan2_reference.py REFERENCE_CHECKOUT
           [--size 32] [--batch 16] [--iterations 1]

REFERENCE_CHECKOUT is a clone of stylegan2-pytorch kept outside this project.
Its CUDA extensions are not built: op/ falls back to its native PyTorch code
on a CPU, as it does when they cannot load.
"""
import argparse
import math
import os
import random
import sys
import time

import torch
import torch.utils.cpp_extension
from torch import autograd, optim
from torch.nn import functional as F


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=1, help="timed per kind")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.utils.cpp_extension.load = lambda *a, **k: None  # CPU: the native fallbacks
    sys.path.insert(0, args.reference)
    from model import Discriminator, Generator  # noqa: E402
    from op import conv2d_gradfix  # noqa: E402

    torch.manual_seed(0)
    random.seed(0)
    latent, n_mlp, r1, path_weight, d_every, g_every, shrink, mixing = 512, 8, 10.0, 2.0, 16, 4, 2, 0.9
    generator = Generator(args.size, latent, n_mlp)
    discriminator = Discriminator(args.size)
    g_ema = Generator(args.size, latent, n_mlp)
    g_ema.eval()
    g_ema.load_state_dict(generator.state_dict())
    g_ratio, d_ratio = g_every / (g_every + 1), d_every / (d_every + 1)
    g_optim = optim.Adam(generator.parameters(), lr=0.002 * g_ratio, betas=(0 ** g_ratio, 0.99 ** g_ratio))
    d_optim = optim.Adam(discriminator.parameters(), lr=0.002 * d_ratio, betas=(0 ** d_ratio, 0.99 ** d_ratio))
    accum = 0.5 ** (32 / (10 * 1000))
    real = torch.randn(args.batch, 3, args.size, args.size)
    mean_path_length = 0

    def requires_grad(model, flag):
        for p in model.parameters():
            p.requires_grad = flag

    def noise(batch):
        if random.random() < mixing:
            return list(torch.randn(2, batch, latent).unbind(0))
        return [torch.randn(batch, latent)]

    def iteration(i):
        nonlocal mean_path_length
        real_img = real.clone()
        requires_grad(generator, False)
        requires_grad(discriminator, True)
        fake_img, _ = generator(noise(args.batch))
        d_loss = F.softplus(-discriminator(real_img)).mean() + F.softplus(discriminator(fake_img)).mean()
        discriminator.zero_grad()
        d_loss.backward()
        d_optim.step()
        if i % d_every == 0:
            real_img.requires_grad = True
            real_pred = discriminator(real_img)
            with conv2d_gradfix.no_weight_gradients():
                grad, = autograd.grad(outputs=real_pred.sum(), inputs=real_img, create_graph=True)
            r1_loss = grad.pow(2).reshape(grad.shape[0], -1).sum(1).mean()
            discriminator.zero_grad()
            (r1 / 2 * r1_loss * d_every + 0 * real_pred[0]).backward()
            d_optim.step()
        requires_grad(generator, True)
        requires_grad(discriminator, False)
        fake_img, _ = generator(noise(args.batch))
        g_loss = F.softplus(-discriminator(fake_img)).mean()
        generator.zero_grad()
        g_loss.backward()
        g_optim.step()
        if i % g_every == 0:
            fake_img, latents = generator(noise(max(1, args.batch // shrink)), return_latents=True)
            y = torch.randn_like(fake_img) / math.sqrt(fake_img.shape[2] * fake_img.shape[3])
            grad, = autograd.grad(outputs=(fake_img * y).sum(), inputs=latents, create_graph=True)
            lengths = torch.sqrt(grad.pow(2).sum(2).mean(1))
            path_mean = mean_path_length + 0.01 * (lengths.mean() - mean_path_length)
            path_loss = (lengths - path_mean).pow(2).mean()
            mean_path_length = path_mean.detach()
            generator.zero_grad()
            (path_weight * g_every * path_loss + 0 * fake_img[0, 0, 0, 0]).backward()
            g_optim.step()
        with torch.no_grad():
            for p_ema, p in zip(g_ema.parameters(), generator.parameters()):
                p_ema.mul_(accum).add_(p.data, alpha=1 - accum)

    def time_kind(offset):
        iteration(offset)  # warm-up
        start = time.perf_counter()
        for k in range(1, args.iterations + 1):
            iteration(16 * k + offset)
        return (time.perf_counter() - start) * 1000 / args.iterations

    both, path, plain = time_kind(0), time_kind(4), time_kind(1)
    ms = (12 * plain + 3 * path + both) / 16
    print(f"reference stylegan2-pytorch, {torch.get_num_threads()} threads, width 512, size {args.size}, "
          f"batch {args.batch}: plain {plain:.1f}, +path {path:.1f}, +path+R1 {both:.1f}; "
          f"{ms:.1f} ms/iteration, {args.batch * 1000 / ms:.1f} images/s")

if __name__ == "__main__":
    main()
