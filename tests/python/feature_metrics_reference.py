"""The Python side of test_feature_metrics: stand-in feature networks and the
metrics' formulas as stylegan2-ada-pytorch computes them, on fixed images.

usage: feature_metrics_reference.py OUT_DIR

Writes to OUT_DIR:
  inception.pt  a TorchScript stand-in with Inception's call signature:
                forward(img: uint8 [n, 3, h, w], return_features: bool = False),
                its own resize (bilinear to 24x24), random weights, 64 features
  vgg.pt        the same signature, 48 features
  custom.pt     forward(img) only, 40 features
  no_features.pt  forward(img) returning a scalar (an unusable network)
  expected.pt   {'real', 'generated'}: uint8 [260, 1, 16, 16] images;
                their features under each network; FID (scipy.linalg.sqrtm, as
                metrics/frechet_inception_distance.py, with metric_utils'
                mean and covariance divided by n), KID over one subset of all
                rows (kernel_inception_distance.py's formula; all rows, so
                no draw decides it), precision/recall k = 3 and
                density/coverage k = 5 (Naeem et al. 2020's prdc) (NumPy, float64),
                and 'quantise_in' / 'quantise_out': stylegan2-ada-pytorch's
                (x * 127.5 + 128).clamp(0, 255).to(uint8) on values with ties.
"""
import os
import sys

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F


class StandIn(torch.nn.Module):
    def __init__(self, features, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv = torch.nn.Parameter(torch.randn(features, 3, 5, 5, generator=g) / 3)
        self.head = torch.nn.Parameter(torch.randn(10, features, generator=g))

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = img.to(torch.float32) / 127.5 - 1
        x = F.interpolate(x, size=(24, 24), mode="bilinear", align_corners=False)
        x = F.relu(F.conv2d(x, self.conv, stride=2))
        features = torch.cat([x.mean([2, 3]), x.amax([2, 3])], 1)[:, : self.conv.shape[0]]
        if return_features:
            return features
        return features @ self.head.t()


class Custom(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.weight = torch.nn.Parameter(torch.randn(40, 3 * 8 * 8, generator=g) / 4)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(img.to(torch.float32) / 255, 8).flatten(1)
        return torch.tanh(x @ self.weight.t())


class NoFeatures(torch.nn.Module):
    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return img.to(torch.float32).sum()


def images(seed, n=260, size=16, extra_radius=0.0):
    """Grey blobs of random place, size and brightness on noise."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centre = torch.rand(n, 2, generator=g) * size
    radius = 2 + extra_radius + torch.rand(n, generator=g) * 5
    level = 80 + torch.rand(n, generator=g) * 170
    d = (ys[None] - centre[:, 0, None, None]) ** 2 + (xs[None] - centre[:, 1, None, None]) ** 2
    blob = (d < radius[:, None, None] ** 2).float() * level[:, None, None]
    noise = torch.rand(n, size, size, generator=g) * 40
    return (blob + noise).clamp(0, 255).to(torch.uint8)[:, None]


def features_of(net, batch, **kwargs):
    with torch.no_grad():
        return net(batch.repeat(1, 3, 1, 1), **kwargs).double().numpy()


def fid(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a = a.T @ a / len(a) - np.outer(mu_a, mu_a)
    cov_b = b.T @ b / len(b) - np.outer(mu_b, mu_b)
    s, _ = scipy.linalg.sqrtm(np.dot(cov_a, cov_b), disp=False)
    return float(np.real(np.square(mu_a - mu_b).sum() + np.trace(cov_a + cov_b - s * 2)))


def kid(x, y):
    n, m = x.shape[1], len(x)
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    return float(((a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m) / m)


def distances(a, b):
    return np.sqrt(np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T, 0))


def precision_recall(real, fake, k=3):
    real_radii = np.sort(distances(real, real), axis=1)[:, k]
    fake_radii = np.sort(distances(fake, fake), axis=1)[:, k]
    precision = (distances(fake, real) <= real_radii[None]).any(1).mean()
    recall = (distances(real, fake) <= fake_radii[None]).any(1).mean()
    return float(precision), float(recall)


def density_coverage(real, fake, k=5):
    real_radii = np.sort(distances(real, real), axis=1)[:, k]
    inside = distances(real, fake) < real_radii[:, None]
    density = inside.sum(0).mean() / k
    coverage = inside.any(1).mean()
    return float(density), float(coverage)


def main(out):
    os.makedirs(out, exist_ok=True)
    nets = {"inception": StandIn(64, 1), "vgg": StandIn(48, 2), "custom": Custom()}
    for name, net in nets.items():
        torch.jit.script(net.eval()).save(os.path.join(out, f"{name}.pt"))
    torch.jit.script(NoFeatures()).save(os.path.join(out, "no_features.pt"))
    real, generated = images(10), images(11, extra_radius=1.5)
    expected = {"real": real, "generated": generated}
    for name, net in nets.items():
        kwargs = {} if name == "custom" else {"return_features": True}
        r, g = features_of(net, real, **kwargs), features_of(net, generated, **kwargs)
        expected[f"{name}_real"] = torch.from_numpy(r).float()
        expected[f"{name}_generated"] = torch.from_numpy(g).float()
        r, g = expected[f"{name}_real"].double().numpy(), expected[f"{name}_generated"].double().numpy()
        expected[f"{name}_fid"] = fid(g, r)
        expected[f"{name}_kid"] = kid(g, r)
        expected[f"{name}_precision"], expected[f"{name}_recall"] = precision_recall(r, g)
        expected[f"{name}_density"], expected[f"{name}_coverage"] = density_coverage(r, g)
    values = torch.cat([(torch.arange(0, 256, dtype=torch.float32) - 127.5) / 127.5,
                        (torch.arange(0, 256, dtype=torch.float32) - 128) / 127.5,
                        torch.linspace(-1.3, 1.3, 1001)])
    expected["quantise_in"] = values
    expected["quantise_out"] = (values * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    torch.save(expected, os.path.join(out, "expected.pt"))
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1])
