"""Non-linear Gaussian process (NLGP) of Ingrosso & Goldt (PNAS 2022), 1-D or 2-D, two classes.

Provenance: generated on the fly (no files). Licence: none needed (synthetic).

Class k in {0, 1} has correlation length xi_k. On a periodic grid of side L (1-D: L sites; 2-D: L x L),

    z ~ N(0, C),  C(i, j) = exp(-d_ij^2 / xi^2)   (d the periodic distance; 2-D: product of the 1-D kernels
                                                    along each axis, i.e. a Kronecker product),
    x = erf(g z / sqrt 2) / sqrt(gamma(g)),        gamma(g) = (2/pi) arcsin(g^2 / (1 + g^2)),

so every pixel has mean 0 and variance exactly 1 ("exact normalisation"). g -> 0 is Gaussian (kurtosis 3);
large g approaches sign(z) (kurtosis -> 1). The exact Gaussian twin (``gaussian=True``) has the NLGP's
covariance K = (2 / (pi gamma)) arcsin(g^2 C / (1 + g^2)) and nothing else.

Sampling is exact and fast: C and K depend only on the periodic displacement, so they are circulant
(1-D) / block-circulant (2-D) and diagonalised by the (2-D) DFT. With lambda = Re FFT(first row),
z = Re IFFT(sqrt(lambda) * FFT(w)), w ~ N(0, I), has covariance exactly C. Round-off can make tiny
eigenvalues negative (the Gaussian kernel's spectrum decays fast): they are clipped at 0 and a jitter
of 1e-6 (relative) is added to every eigenvalue, after which the kernel is rescaled so its diagonal is
exactly 1 -- ``analytic_covariance`` returns this jittered, rescaled kernel, which is what is sampled.

Options: ``dim`` (1 or 2; default 2), ``L`` (side; default 28), ``xi0``, ``xi1`` (default 1.0 and 3.0),
``g`` (default 3.0), ``n_train`` (default 10000), ``n_test`` (default 2000), ``gaussian`` (the twin;
default False), ``device`` (default: cuda if available), ``batch_size`` (rows per FFT batch).
Classes are balanced (first half class 0, second half class 1, then shuffled). Train and test use
independent streams derived from (seed, split). Data are float32, already normalised (shift None, scale 1).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from impkit.data import register
from impkit.data._common import check_options, check_split, derive_seed, generator, resolve_device
from impkit.data.base import Dataset

OPTIONS = ("dim", "L", "xi0", "xi1", "g", "n_train", "n_test", "gaussian", "device", "batch_size")
DEFAULTS = {"dim": 2, "L": 28, "xi0": 1.0, "xi1": 3.0, "g": 3.0, "n_train": 10000, "n_test": 2000,
            "gaussian": False, "device": None, "batch_size": 4096}
JITTER = 1e-6


def gamma(g: float) -> float:
    """Var[erf(g z / sqrt 2)] for z ~ N(0, 1): (2/pi) arcsin(g^2 / (1 + g^2))."""
    return (2 / math.pi) * math.asin(g * g / (1 + g * g))


def _periodic_sq_dist(L: int) -> np.ndarray:
    d = np.arange(L, dtype=np.float64)
    d = np.minimum(d, L - d)
    return d * d


def kernel_row(dim: int, L: int, xi: float, g: float | None = None) -> np.ndarray:
    """First row of the latent kernel C (g None) or of the twin kernel K, shaped (L,) or (L, L), float64.

    Includes the clip/jitter/renormalisation described in the module docstring.
    """
    k1 = np.exp(-_periodic_sq_dist(L) / (xi * xi))
    c = k1 if dim == 1 else np.outer(k1, k1)
    c = _regularise(c)
    if g is not None:
        c = (2 / (math.pi * gamma(g))) * np.arcsin(np.clip(g * g * c / (1 + g * g), -1, 1))
        c = _regularise(c)
    return c


def _regularise(row: np.ndarray) -> np.ndarray:
    lam = np.fft.fftn(row).real
    lam = np.clip(lam, 0, None) + JITTER * lam.max()
    out = np.fft.ifftn(lam).real
    return out / out.flat[0]


def analytic_covariance(dim: int = 2, L: int = 28, xi: float = 1.0, g: float | None = None) -> np.ndarray:
    """The (D, D) covariance sampled: of the NLGP's pixels if ``g`` is given (= the twin's), else of z."""
    row = kernel_row(dim, L, xi, g)
    if dim == 1:
        idx = (np.arange(L)[None, :] - np.arange(L)[:, None]) % L
        return row[idx]
    i = np.arange(L)
    dy = (i[None, :] - i[:, None]) % L
    # pixel p = (a, b) -> a*L + b ; cov[(a,b),(c,d)] = row[(c-a)%L, (d-b)%L]
    return row[dy[:, None, :, None], dy[None, :, None, :]].reshape(L * L, L * L)


def _sample(n: int, dim: int, L: int, row: np.ndarray, gen: torch.Generator, dev: torch.device,
            batch: int) -> torch.Tensor:
    lam = np.clip(np.fft.fftn(row).real, 0, None)
    sq = torch.as_tensor(np.sqrt(lam), dtype=torch.float32, device=dev)
    shape = (L,) if dim == 1 else (L, L)
    dims = tuple(range(-len(shape), 0))
    out = torch.empty(n, int(np.prod(shape)), dtype=torch.float32, device=dev)
    for s in range(0, n, batch):
        m = min(batch, n - s)
        w = torch.randn((m, *shape), generator=gen, device=dev)
        z = torch.fft.ifftn(sq * torch.fft.fftn(w, dim=dims), dim=dims).real
        out[s : s + m] = z.reshape(m, -1)
    return out


@register("nlgp")
def load_nlgp(root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """NLGP split (see the module docstring); ``root`` is ignored."""
    check_options("nlgp", options, OPTIONS)
    check_split(split)
    o = {**DEFAULTS, **options}
    dim, L, g = int(o["dim"]), int(o["L"]), float(o["g"])
    if dim not in (1, 2):
        raise ValueError(f"nlgp: dim must be 1 or 2, got {dim}")
    if L < 2 or g <= 0 or o["xi0"] <= 0 or o["xi1"] <= 0:
        raise ValueError("nlgp: need L >= 2, g > 0, xi0 > 0, xi1 > 0")
    n = int(o["n_train" if split == "train" else "n_test"])
    dev = resolve_device(o["device"])
    gen = generator(derive_seed(seed, "nlgp", split), dev)
    sizes = (n - n // 2, n // 2)
    parts = []
    for k, xi in enumerate((float(o["xi0"]), float(o["xi1"]))):
        if o["gaussian"]:
            parts.append(_sample(sizes[k], dim, L, kernel_row(dim, L, xi, g), gen, dev, int(o["batch_size"])))
        else:
            z = _sample(sizes[k], dim, L, kernel_row(dim, L, xi), gen, dev, int(o["batch_size"]))
            parts.append(torch.erf(z * (g / math.sqrt(2))) / math.sqrt(gamma(g)))
    x = torch.cat(parts)
    y = torch.cat([torch.full((s,), k, dtype=torch.int64, device=dev) for k, s in enumerate(sizes)])
    perm = torch.randperm(n, generator=gen, device=dev)
    x, y = x[perm], y[perm]
    shape = (1, 1, L) if dim == 1 else (1, L, L)
    name = "nlgp"
    return Dataset(
        x=x, y=y, image_shape=shape, num_classes=2, name=name, shift=None, scale=1.0,
        info={"provenance": "generated: non-linear Gaussian process of Ingrosso & Goldt (PNAS 2022)",
              "licence": "synthetic data, no licence needed",
              "normalisation": "exact: every pixel has mean 0 and variance 1 (erf(g z/sqrt2)/sqrt(gamma(g)))"
              + ("; Gaussian twin with the NLGP's covariance" if o["gaussian"] else ""),
              "options": {k: o[k] for k in OPTIONS if k != "device"}, "seed": seed, "split": split},
    )
