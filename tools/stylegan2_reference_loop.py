"""rosinality's stylegan2-pytorch, as its train.py trains, on this CPU: shared
by the speed benchmark (bench_stylegan2_reference.py) and the learning
benchmark (bench_stylegan2_learning_reference.py).

The reference checkout stays outside this project. Its CUDA extensions are
not built: op/ falls back to its native PyTorch code on a CPU. For grey data
and narrow networks its model.py is loaded with two changes made on the fly
and checked: ToRGB's and D's first layer take IMAGE_CHANNELS (the reference
hard-codes 3), and every width is capped at MAX_CHANNELS (our --channels).
Nothing else of its code is touched.
"""
import importlib.util
import math
import random
import re
import sys
import types

import torch
import torch.utils.cpp_extension
from torch import autograd, optim
from torch.nn import functional as F


def _patched_source(source, image_channels, max_channels):
    def replace(pattern, replacement, count):
        nonlocal source
        source, n = re.subn(pattern, replacement, source)
        if n != count:
            raise SystemExit(f"reference model.py: expected {count} match(es) of {pattern!r}, found {n}")

    replace(r"ModulatedConv2d\(in_channel, 3, 1, style_dim, demodulate=False\)",
            "ModulatedConv2d(in_channel, IMAGE_CHANNELS, 1, style_dim, demodulate=False)", 1)
    replace(r"torch\.zeros\(1, 3, 1, 1\)", "torch.zeros(1, IMAGE_CHANNELS, 1, 1)", 1)
    replace(r"ConvLayer\(3, channels\[size\], 1\)", "ConvLayer(IMAGE_CHANNELS, channels[size], 1)", 1)
    # Both width tables ({4: 512, ..., 1024: 16 * channel_multiplier}), capped.
    replace(r"(self\.channels|channels) = (\{[^}]*\})", r"\1 = {k: min(v, MAX_CHANNELS) for k, v in \2.items()}", 2)
    return (f"IMAGE_CHANNELS = {int(image_channels)}\nMAX_CHANNELS = {int(max_channels)}\n" + source)


def load_reference(checkout, image_channels=3, max_channels=512):
    """The reference's model module (Generator, Discriminator) and its
    conv2d_gradfix, with the two changes above."""
    torch.utils.cpp_extension.load = lambda *a, **k: None  # CPU: the native fallbacks
    if checkout not in sys.path:
        sys.path.insert(0, checkout)
    from op import conv2d_gradfix  # noqa: E402

    with open(f"{checkout}/model.py") as f:
        source = _patched_source(f.read(), image_channels, max_channels)
    module = types.ModuleType("reference_model")
    module.__file__ = f"{checkout}/model.py"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module, conv2d_gradfix


class ReferenceTraining:
    """train.py's loop body: logistic loss, lazy R1, lazy path length, style
    mixing, Adam with the lazy correction, EMA 0.5^(32/10,000)."""

    def __init__(self, model, conv2d_gradfix, size, latent=512, n_mlp=8, channel_multiplier=2, lr=0.002, r1=10.0,
                 path_regularize=2.0, d_reg_every=16, g_reg_every=4, path_batch_shrink=2, mixing=0.9):
        self.gradfix = conv2d_gradfix
        self.latent, self.mixing = latent, mixing
        self.r1, self.path_regularize = r1, path_regularize
        self.d_reg_every, self.g_reg_every, self.path_batch_shrink = d_reg_every, g_reg_every, path_batch_shrink
        self.generator = model.Generator(size, latent, n_mlp, channel_multiplier=channel_multiplier)
        self.discriminator = model.Discriminator(size, channel_multiplier=channel_multiplier)
        self.g_ema = model.Generator(size, latent, n_mlp, channel_multiplier=channel_multiplier)
        self.g_ema.eval()
        self.accumulate(0)
        g_ratio, d_ratio = g_reg_every / (g_reg_every + 1), d_reg_every / (d_reg_every + 1)
        self.g_optim = optim.Adam(self.generator.parameters(), lr=lr * g_ratio,
                                  betas=(0 ** g_ratio, 0.99 ** g_ratio))
        self.d_optim = optim.Adam(self.discriminator.parameters(), lr=lr * d_ratio,
                                  betas=(0 ** d_ratio, 0.99 ** d_ratio))
        self.accum = 0.5 ** (32 / (10 * 1000))
        self.mean_path_length = 0
        # None: train.py's own mixing draws. Else an iterator over the draws
        # to replay, one per generator call (-1: one latent, else the inject
        # index): the lock-step benchmark hands it ours.
        self.mixing_plan = None

    def accumulate(self, decay):
        ema = dict(self.g_ema.named_parameters())
        for name, p in self.generator.named_parameters():
            ema[name].data.mul_(decay).add_(p.data, alpha=1 - decay)

    @staticmethod
    def requires_grad(model, flag):
        for p in model.parameters():
            p.requires_grad = flag

    def noise(self, batch):
        if self.mixing > 0 and random.random() < self.mixing:
            return list(torch.randn(2, batch, self.latent).unbind(0))
        return [torch.randn(batch, self.latent)]

    def generate(self, batch, return_latents=False):
        """G on fresh latents, as train.py calls it (mixing_noise, then the
        inject index drawn in the forward), or replaying mixing_plan."""
        if self.mixing_plan is None:
            return self.generator(self.noise(batch), return_latents=return_latents)
        inject = next(self.mixing_plan)
        if inject < 0:
            return self.generator([torch.randn(batch, self.latent)], return_latents=return_latents)
        return self.generator(list(torch.randn(2, batch, self.latent).unbind(0)), inject_index=inject,
                              return_latents=return_latents)

    def iteration(self, i, real_img):
        """One iteration i (the lazy steps where i % interval == 0) on a
        batch of real images in [-1, 1]; returns D's and G's losses."""
        g, d = self.generator, self.discriminator
        batch = real_img.shape[0]
        self.requires_grad(g, False)
        self.requires_grad(d, True)
        fake_img, _ = self.generate(batch)
        fake_pred = d(fake_img)
        real_pred = d(real_img)
        d_loss = F.softplus(-real_pred).mean() + F.softplus(fake_pred).mean()
        d.zero_grad()
        d_loss.backward()
        self.d_optim.step()
        if i % self.d_reg_every == 0:
            real_img.requires_grad = True
            real_pred = d(real_img)
            with self.gradfix.no_weight_gradients():
                grad, = autograd.grad(outputs=real_pred.sum(), inputs=real_img, create_graph=True)
            r1_loss = grad.pow(2).reshape(grad.shape[0], -1).sum(1).mean()
            d.zero_grad()
            (self.r1 / 2 * r1_loss * self.d_reg_every + 0 * real_pred[0]).backward()
            self.d_optim.step()
        self.requires_grad(g, True)
        self.requires_grad(d, False)
        fake_img, _ = self.generate(batch)
        g_loss = F.softplus(-d(fake_img)).mean()
        g.zero_grad()
        g_loss.backward()
        self.g_optim.step()
        if i % self.g_reg_every == 0:
            fake_img, latents = self.generate(max(1, batch // self.path_batch_shrink), return_latents=True)
            y = torch.randn_like(fake_img) / math.sqrt(fake_img.shape[2] * fake_img.shape[3])
            grad, = autograd.grad(outputs=(fake_img * y).sum(), inputs=latents, create_graph=True)
            lengths = torch.sqrt(grad.pow(2).sum(2).mean(1))
            path_mean = self.mean_path_length + 0.01 * (lengths.mean() - self.mean_path_length)
            path_loss = (lengths - path_mean).pow(2).mean()
            self.mean_path_length = path_mean.detach()
            g.zero_grad()
            (self.path_regularize * self.g_reg_every * path_loss + 0 * fake_img[0, 0, 0, 0]).backward()
            self.g_optim.step()
        self.requires_grad(d, True)
        with torch.no_grad():
            self.accumulate(self.accum)
        return d_loss.item(), g_loss.item()

    def checkpoint(self, args):
        """train.py's checkpoint layout."""
        return {"g": self.generator.state_dict(), "d": self.discriminator.state_dict(),
                "g_ema": self.g_ema.state_dict(), "g_optim": self.g_optim.state_dict(),
                "d_optim": self.d_optim.state_dict(), "args": args, "ada_aug_p": 0.0}
