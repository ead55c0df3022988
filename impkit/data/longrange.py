"""A Gaussian texture whose two classes differ only at long range ("gaussian-longrange").

Provenance: generated on the fly (no files). Licence: none needed (synthetic).

On an L x L torus, u is the stationary Gaussian field of the NLGP's latent kernel (the wrapped squared-exponential
c of correlation length ``xi``, :func:`impkit.data.nlgp.kernel_row`), and with h = (0, L/2) (half the side along x)

    x(r) = (u(r) + s_k u(r + h)) / sqrt(2 + 2 s_k c(h)),      s_0 = +1, s_1 = -1.

Class 0 images repeat themselves half a side to the right (x(r + h) = x(r)), class 1 images repeat with the sign
flipped (x(r + h) = -x(r)). Both classes are zero-mean stationary Gaussians with unit pixel variance and covariance

    C_k(d) = (2 c(d) + s_k (c(d + h) + c(d - h))) / (2 + 2 s_k c(h)),

which differ only where c(d +- h) is non-zero, i.e. at x-displacements near L/2: for a k x k window with
k - 1 < L/2 - 4 xi the two classes' window distributions differ by less than exp(-16) ~ 1e-7 in any covariance
entry. Local filters therefore carry (essentially) no class signal; a unit that adds pixels r and r + h reads it
exactly (for class 1 the sum is 0). The data are their own Gaussian clone (same means and covariances).

Options: ``L`` (side, even; default 24), ``xi`` (default 2.0), ``n_train`` (default 20000), ``n_test`` (default
2000). Classes balanced (first half class 0, then shuffled); train and test streams derived from (seed, split).
Float32, already normalised (shift None, scale 1).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from impkit.data import register
from impkit.data._common import check_options, check_split
from impkit.data.base import Dataset
from impkit.seeding import derive_seed

NAME = "gaussian-longrange"
OPTIONS = ("L", "xi", "n_train", "n_test")
OPTION_TYPES = {"L": int, "xi": float, "n_train": int, "n_test": int}
DEFAULTS = {"L": 24, "xi": 2.0, "n_train": 20000, "n_test": 2000}
SIGNS = (1.0, -1.0)


def class_covariance_row(L: int, xi: float, k: int) -> np.ndarray:
    """(L, L) float64: C_k(d) of class ``k`` at displacement [dy, dx] (module docstring)."""
    from impkit.data.nlgp import kernel_row

    c = kernel_row(2, L, xi)
    s, h = SIGNS[k], L // 2
    return (2 * c + s * (np.roll(c, h, axis=1) + np.roll(c, -h, axis=1))) / (2 + 2 * s * c[0, h])


def _validated(options: dict) -> dict:
    check_options(NAME, options, OPTIONS)
    o = {**DEFAULTS, **options}
    if int(o["L"]) < 4 or int(o["L"]) % 2:
        raise ValueError(f"data.options.L: must be an even side of at least 4, got {o['L']!r}")
    if not float(o["xi"]) > 0:
        raise ValueError(f"data.options.xi: must be a positive correlation length, got {o['xi']!r}")
    for k in ("n_train", "n_test"):
        if int(o[k]) < 2:
            raise ValueError(f"data.options.{k}: must be at least 2 rows, got {o[k]!r}")
    return o


@register(NAME, options=OPTION_TYPES)
def load_longrange(root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """Split ``split``: (n, L*L) float32 rows, labels 0/1 (module docstring); ``root`` is ignored."""
    from impkit.data.nlgp import kernel_row

    check_split(split)
    o = _validated(options)
    L, xi, n = int(o["L"]), float(o["xi"]), int(o["n_train" if split == "train" else "n_test"])
    g = torch.Generator().manual_seed(derive_seed(seed, NAME, split))
    y = torch.zeros(n, dtype=torch.int64)
    y[n // 2:] = 1
    y = y[torch.randperm(n, generator=g)]
    c = kernel_row(2, L, xi)
    sq = torch.from_numpy(np.sqrt(np.clip(np.fft.fft2(c).real, 0, None))).float()
    u = torch.fft.ifft2(sq * torch.fft.fft2(torch.randn(n, L, L, generator=g))).real
    s = torch.tensor(SIGNS, dtype=torch.float32)[y].view(n, 1, 1)
    norm = torch.sqrt(2 + 2 * s * float(c[0, L // 2]))
    x = (u + s * torch.roll(u, -(L // 2), dims=2)) / norm  # roll by -h: element r is u(r + h)
    return Dataset(x=x.reshape(n, -1).contiguous(), y=y, image_shape=(1, L, L), num_classes=2, name=NAME,
                   shift=None, scale=1.0,
                   info={"provenance": "generated: Gaussian field, classes (anti)periodic over half the side",
                         "licence": "none (synthetic)", "split": split, "options": {k: o[k] for k in OPTIONS},
                         "normalisation": "none (unit pixel variance by construction)",
                         "window_signal": f"none below x-displacement ~{L // 2 - math.ceil(4 * xi)} px"})
