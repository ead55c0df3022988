"""Non-linear Gaussian process (NLGP) of Ingrosso & Goldt (PNAS 2022), 1-D or 2-D, two classes.

Provenance: generated on the fly (no files). Licence: none needed (synthetic).

Class k in {0, 1} has correlation length xi_k. On a periodic grid of side L (1-D: L sites; 2-D: L x L),

    z ~ N(0, C),  C(i, j) = c(d_ij),  c(d) = sum_k exp(-(d + k L)^2 / xi^2) / sum_k exp(-(k L)^2 / xi^2)
                                      (2-D: product of the 1-D kernels along each axis, a Kronecker product),
    x = erf(g z / sqrt 2) / sqrt(gamma(g)),        gamma(g) = (2/pi) arcsin(g^2 / (1 + g^2)),

so every pixel has mean 0 and variance exactly 1 ("exact normalisation"). g -> 0 is Gaussian (kurtosis 3);
large g approaches sign(z) (kurtosis -> 1). The exact Gaussian twin (``gaussian=True``) has the NLGP's
covariance K = (2 / (pi gamma)) arcsin(g^2 C / (1 + g^2)) and nothing else.

The kernel. c is the squared-exponential kernel exp(-d^2/xi^2) wrapped around the torus: the sum over all
periodic images k, truncated where the omitted terms are below float64 precision relative to c(0). It is
normalised by its value at d = 0 (the denominator above, 1 + 2 exp(-L^2/xi^2) + ...), so C has unit diagonal;
for xi << L it equals exp(-d^2/xi^2) with d the minimum-image distance to machine precision. Unlike that
minimum-image kernel, which stops being positive semidefinite once xi/L exceeds about 0.2 (at xi/L = 0.5 its
most negative eigenvalue is -0.25 for L = 12, -0.55 for L = 28, in 1-D), the wrapped kernel is PSD by
construction: by Poisson summation the DFT of its samples on the grid is sum_j ghat(m/L + j) with ghat the
(positive, Gaussian) Fourier transform of exp(-d^2/xi^2), so every eigenvalue is positive. The twin kernel K is
PSD too: arcsin(t) = sum_n a_n t^(2n+1) with a_n >= 0, |g^2 C_ij / (1 + g^2)| < 1, and elementwise (Schur)
powers of a PSD matrix are PSD (Schur product theorem), so K is a non-negative combination of PSD matrices.

Sampling is exact and fast: C and K depend only on the periodic displacement, so they are circulant
(1-D) / block-circulant (2-D) and diagonalised by the (2-D) DFT. With lambda = Re FFT(first row),
z = Re IFFT(sqrt(lambda) * FFT(w)), w ~ N(0, I), has covariance exactly C. No jitter is added and no
spectrum is regularised: the eigenvalues are positive in exact arithmetic, and the only ones that come out
negative in floating point are round-off (|lambda| ~ 1e-16 max lambda, where the Gaussian spectrum has
decayed below float64 resolution); those are set to 0 before the square root, which changes the sampled
covariance by ~1e-15. ``analytic_covariance`` returns C (or K) itself, which is what is sampled.

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
from impkit.data._common import check_options, check_split, generator
from impkit.device import resolve_device
from impkit.seeding import derive_seed
from impkit.data.base import Dataset

OPTIONS = ("dim", "L", "xi0", "xi1", "g", "n_train", "n_test", "gaussian", "device", "batch_size")
# types of the options (impkit.data.check_option_types: a wrong type is refused by name before loading)
OPTION_TYPES = {"dim": int, "L": int, "xi0": float, "xi1": float, "g": float, "n_train": int, "n_test": int,
                "gaussian": bool, "device": str | None, "batch_size": int}
DEFAULTS = {"dim": 2, "L": 28, "xi0": 1.0, "xi1": 3.0, "g": 3.0, "n_train": 10000, "n_test": 2000,
            "gaussian": False, "device": None, "batch_size": 4096}


def gamma(g: float) -> float:
    """Var[erf(g z / sqrt 2)] for z ~ N(0, 1): (2/pi) arcsin(g^2 / (1 + g^2))."""
    return (2 / math.pi) * math.asin(g * g / (1 + g * g))


def wrapped_kernel_1d(L: int, xi: float) -> np.ndarray:
    """(L,) float64: the 1-D wrapped squared-exponential kernel c(d), d = 0..L-1, normalised so c(0) = 1.

    c(d) = sum_k exp(-(d + k L)^2 / xi^2) / sum_k exp(-(k L)^2 / xi^2), over the images |k| <= K with
    K = ceil(7 xi / L) + 1: every omitted term is below exp(-49) ~ 5e-22 relative to c(0).
    """
    K = int(math.ceil(7.0 * xi / L)) + 1
    k = np.arange(-K, K + 1, dtype=np.float64)[:, None]
    d = np.arange(L, dtype=np.float64)[None, :]
    row = np.exp(-((d + k * L) ** 2) / (xi * xi)).sum(0)
    return row / np.exp(-((k[:, 0] * L) ** 2) / (xi * xi)).sum()


def kernel_row(dim: int, L: int, xi: float, g: float | None = None) -> np.ndarray:
    """First row of the latent kernel C (g None) or of the twin kernel K, shaped (L,) or (L, L), float64.

    Entry [d] (1-D) or [dy, dx] (2-D) is the covariance of two pixels at periodic displacement d; C is the wrapped
    kernel of :func:`wrapped_kernel_1d` (2-D: its outer product), K = (2/(pi gamma(g))) arcsin(g^2 C/(1+g^2)).
    Both have value 1 at displacement 0.
    """
    k1 = wrapped_kernel_1d(L, xi)
    c = k1 if dim == 1 else np.outer(k1, k1)
    if g is not None:
        c = (2 / (math.pi * gamma(g))) * np.arcsin(g * g * c / (1 + g * g))
    return c


def analytic_covariance(dim: int = 2, L: int = 28, xi: float = 1.0, g: float | None = None) -> np.ndarray:
    """The (D, D) covariance sampled, D = L (1-D) or L*L (2-D, row-major pixels): of the NLGP's pixels if ``g`` is
    given (= the twin's kernel K), else of the latent field z (the wrapped kernel C)."""
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


@register("nlgp", options=OPTION_TYPES)
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
    dev = resolve_device(o["device"], setting="data.options.device")
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
