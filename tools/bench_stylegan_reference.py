"""The loop body of rosinality's style-based-gan-pytorch train.py (--loss
wgan-gp --mixing) on this CPU, timed as bench_model times ours: one full
iteration (D on real, D on fake, the gradient penalty's double backward, the
D step, the G step with a fresh latent pair, the EMA accumulate), alpha 0.5,
RGB, batch B, width 512 (the reference's only width), random real images
(no data loading, as ours), after one untimed iteration.

usage: /usr/bin/python3 tools/bench_stylegan_reference.py REFERENCE_CHECKOUT
           [--size 8] [--batch 16] [--iterations 3] [--threads N]

REFERENCE_CHECKOUT is a clone of style-based-gan-pytorch kept outside this
project (its model.py is imported; train.py's .cuda() calls are left out).
"""
import argparse
import os
import random
import sys
import time

import torch
from torch import autograd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("--size", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, os.path.abspath(args.reference))
    from model import Discriminator, StyledGenerator  # noqa: E402

    torch.manual_seed(0)
    random.seed(0)
    code_size, step, alpha, b = 512, args.size.bit_length() - 3, 0.5, args.batch
    generator, discriminator = StyledGenerator(code_size), Discriminator(from_rgb_activate=True)
    g_running = StyledGenerator(code_size)
    g_running.train(False)
    g_optimizer = torch.optim.Adam(generator.generator.parameters(), lr=0.001, betas=(0.0, 0.99))
    g_optimizer.add_param_group({"params": generator.style.parameters(), "lr": 0.001 * 0.01, "mult": 0.01})
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=0.001, betas=(0.0, 0.99))

    def requires_grad(model, flag):
        for p in model.parameters():
            p.requires_grad = flag

    def accumulate(model1, model2, decay=0.999):
        par1, par2 = dict(model1.named_parameters()), dict(model2.named_parameters())
        for k in par1.keys():
            par1[k].data.mul_(decay).add_(par2[k].data, alpha=1 - decay)

    accumulate(g_running, generator, 0)
    real_image = torch.randn(b, 3, args.size, args.size)

    def iteration():
        discriminator.zero_grad()
        requires_grad(generator, False)
        requires_grad(discriminator, True)
        real_predict = discriminator(real_image, step=step, alpha=alpha)
        real_predict = real_predict.mean() - 0.001 * (real_predict ** 2).mean()
        (-real_predict).backward()
        if random.random() < 0.9:
            gen_in11, gen_in12, gen_in21, gen_in22 = torch.randn(4, b, code_size).chunk(4, 0)
            gen_in1 = [gen_in11.squeeze(0), gen_in12.squeeze(0)]
            gen_in2 = [gen_in21.squeeze(0), gen_in22.squeeze(0)]
        else:
            gen_in1, gen_in2 = torch.randn(2, b, code_size).chunk(2, 0)
            gen_in1, gen_in2 = gen_in1.squeeze(0), gen_in2.squeeze(0)
        fake_image = generator(gen_in1, step=step, alpha=alpha)
        fake_predict = discriminator(fake_image, step=step, alpha=alpha).mean()
        fake_predict.backward()
        eps = torch.rand(b, 1, 1, 1)
        x_hat = eps * real_image.data + (1 - eps) * fake_image.data
        x_hat.requires_grad = True
        hat_predict = discriminator(x_hat, step=step, alpha=alpha)
        grad_x_hat = autograd.grad(outputs=hat_predict.sum(), inputs=x_hat, create_graph=True)[0]
        grad_penalty = 10 * ((grad_x_hat.view(grad_x_hat.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()
        grad_penalty.backward()
        d_optimizer.step()
        generator.zero_grad()
        requires_grad(generator, True)
        requires_grad(discriminator, False)
        predict = discriminator(generator(gen_in2, step=step, alpha=alpha), step=step, alpha=alpha)
        (-predict.mean()).backward()
        g_optimizer.step()
        accumulate(g_running, generator)

    iteration()  # warm-up
    start = time.perf_counter()
    for _ in range(args.iterations):
        iteration()
    ms = (time.perf_counter() - start) * 1000 / args.iterations
    print(f"reference style-based-gan-pytorch, {torch.get_num_threads()} threads, width 512, size {args.size}, "
          f"batch {b}: {ms:.1f} ms/iteration")


if __name__ == "__main__":
    main()
