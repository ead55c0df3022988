"""Non-linear Gaussian process (NLGP) of Ingrosso & Goldt (PNAS 2022), 1-D or 2-D, two classes.

Provenance: generated on the fly (no files). Licence: none needed (synthetic).

Class k in {0, 1} has correlation length xi_k. On a periodic grid of side L (1-D: L sites; 2-D: L x L),

    z ~ N(0, C),  C(i, j) = c(d_ij),  c(d) = sum_k exp(-(d + k L)^2 / xi^2) / sum_k exp(-(k L)^2 / xi^2)
                                      (2-D: product of the 1-D kernels along each axis, a Kronecker product),
    x = erf(g z / sqrt 2) / sqrt(gamma(g)),        gamma(g) = (2/pi) arcsin(g^2 / (1 + g^2)),

so every pixel has mean 0 and variance exactly 1 ("exact normalisation"). g -> 0 is Gaussian (kurtosis 3);
large g approaches sign(z) (kurtosis -> 1). The exact Gaussian twin (``gaussian=True``) has the NLGP's
covariance K = (2 / (pi gamma)) arcsin(g^2 C / (1 + g^2)) and nothing else.

The expanding non-linearity (``nonlinearity="power"``, exponent ``p``). The saturating erf makes the pixels
*sub*-Gaussian (kurtosis < 3), whereas natural images are heavy-tailed. The signed power

    x = sign(z) |z|^p / sqrt(m_p),       m_p = E|z|^(2p) = 2^p Gamma(p + 1/2) / sqrt(pi),

is the same latent field pushed through an odd non-linearity that *expands* large values for p > 1: pixel
kurtosis Gamma(2p + 1/2) sqrt(pi) / Gamma(p + 1/2)^2 (3 at p = 1, the Gaussian; 5.9 at p = 1.5; 11.7 at p = 2;
46 at p = 3), mean 0, variance exactly 1. Its exact twin has covariance K = k_p(C) entrywise, where for a pair of
standard normals of correlation rho = cos(phi), writing the pair in polar coordinates,

    k_p(rho) = Gamma(p + 1) / (sqrt(pi) Gamma(p + 1/2)) * int_{-pi/2}^{pi/2} cos(t)^p s_p(cos(t - phi)) dt,

with s_p(a) = sign(a) |a|^p (:func:`power_covariance`; k_1(rho) = rho, k_p(1) = 1). K is PSD by the same
argument as for the erf: k_p has a power series in rho with non-negative coefficients (the squared Hermite
coefficients of the odd function s_p), so K is a non-negative combination of Schur powers of C.

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
``nonlinearity`` ("erf", the default, or "power"), ``g`` (erf gain; default 3.0; not used by "power"), ``p`` (the
power's exponent; default 2.0; not used by "erf"), ``n_train`` (default 10000), ``n_test`` (default 2000), ``gaussian`` (the twin;
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

OPTIONS = ("dim", "L", "xi0", "xi1", "nonlinearity", "g", "p", "n_train", "n_test", "gaussian", "device",
           "batch_size")
# types of the options (impkit.data.check_option_types: a wrong type is refused by name before loading)
OPTION_TYPES = {"dim": int, "L": int, "xi0": float, "xi1": float, "nonlinearity": str, "g": float, "p": float,
                "n_train": int, "n_test": int, "gaussian": bool, "device": str | None, "batch_size": int}
DEFAULTS = {"dim": 2, "L": 28, "xi0": 1.0, "xi1": 3.0, "nonlinearity": "erf", "g": 3.0, "p": 2.0, "n_train": 10000,
            "n_test": 2000, "gaussian": False, "device": None, "batch_size": 4096}
NONLINEARITIES = ("erf", "power")
_QUAD_NODES = 256  # Gauss-Legendre nodes per smooth piece of the k_p integral: error < 1e-10 for p >= 1
_QUAD_NODES_ERF = 64  # Gauss-Legendre nodes per piece of the erf kurtosis integral (entire integrand: ~1e-15)


def gamma(g: float) -> float:
    """Var[erf(g z / sqrt 2)] for z ~ N(0, 1): (2/pi) arcsin(g^2 / (1 + g^2))."""
    return (2 / math.pi) * math.asin(g * g / (1 + g * g))


def power_moment(p: float) -> float:
    """m_p = E|z|^(2p) for z ~ N(0, 1): 2^p Gamma(p + 1/2) / sqrt(pi) (the signed power's normaliser)."""
    return math.exp(p * math.log(2.0) + math.lgamma(p + 0.5)) / math.sqrt(math.pi)


def pixel_kurtosis(nonlinearity: str = "erf", g: float = 3.0, p: float = 2.0) -> float:
    """E[x^4] of one (unit-variance) pixel: 3 is Gaussian, < 3 sub-Gaussian (erf), > 3 heavy-tailed (power p > 1).

    Power: Gamma(2p + 1/2) sqrt(pi) / Gamma(p + 1/2)^2 in closed form. Erf: E[erf(g z/sqrt 2)^4] / gamma(g)^2 =
    2 int_0^inf phi(z) erf(g z/sqrt 2)^4 dz / gamma(g)^2 by composite Gauss-Legendre quadrature on pieces that
    follow both scales of the integrand: erf's rise over |z| ~ 1/g and the Gaussian's over |z| ~ 1 (a single
    Gauss-Hermite rule spreads its nodes on the second scale only and misses the first at large g: 200 nodes gave
    1.0549 at g = 10 instead of 1.0664). Agrees with adaptive quadrature to ~1e-15 for g in [0.01, 1000] (tested).
    """
    if nonlinearity == "power":
        return math.exp(math.lgamma(2 * p + 0.5) - 2 * math.lgamma(p + 0.5)) * math.sqrt(math.pi)
    if nonlinearity != "erf":
        raise ValueError(f"nlgp: nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    if not g > 0:
        raise ValueError(f"nlgp: g must be > 0, got {g}")
    from scipy.special import erf

    x, w = np.polynomial.legendre.leggauss(_QUAD_NODES_ERF)
    top = 13.0  # phi(13) ~ 1e-37: the tail beyond is below float64 resolution of the integral
    cuts = [c / g for c in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)] + [1.0, 2.0, 4.0, 8.0]
    edges = sorted({0.0, top, *(c for c in cuts if c < top)})
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        half = (b - a) / 2
        z = (a + b) / 2 + half * x
        total += half * float((w * np.exp(-z * z / 2) * erf(g * z / math.sqrt(2)) ** 4).sum())
    return 2 * total / math.sqrt(2 * math.pi) / gamma(g) ** 2


def power_covariance(rho: np.ndarray, p: float, nodes: int = _QUAD_NODES) -> np.ndarray:
    """k_p(rho) = E[s_p(u) s_p(v)] / m_p for standard normals u, v of correlation ``rho`` (any shape, in [-1, 1]).

    The polar-coordinate integral of the module docstring, split at the kink t0 = phi - pi/2 of s_p(cos(t - phi))
    so that each piece is smooth inside and Gauss-Legendre converges fast (the |cos|^p endpoint behaviour costs
    only an algebraic rate: ~nodes^-(2p+2)).
    """
    r = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    phi = np.arccos(r)[..., None]
    x, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = -math.pi / 2, math.pi / 2
    t0 = phi - math.pi / 2
    total = np.zeros(r.shape)
    for a, b in ((lo, t0), (t0, hi)):
        half = (b - a) / 2
        t = (a + b) / 2 + half * x
        c2 = np.cos(t - phi)
        f = np.abs(np.cos(t)) ** p * np.sign(c2) * np.abs(c2) ** p
        total += (f * w).sum(-1) * half[..., 0]  # half: (..., 1), both pieces end at the array t0
    return math.exp(math.lgamma(p + 1) - math.lgamma(p + 0.5)) / math.sqrt(math.pi) * total


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


def kernel_row(dim: int, L: int, xi: float, g: float | None = None, nonlinearity: str = "erf",
               p: float = 2.0) -> np.ndarray:
    """First row of the latent kernel C (g None) or of the twin kernel K, shaped (L,) or (L, L), float64.

    Entry [d] (1-D) or [dy, dx] (2-D) is the covariance of two pixels at periodic displacement d; C is the wrapped
    kernel of :func:`wrapped_kernel_1d` (2-D: its outer product). K is the pixels' covariance: for the erf,
    (2/(pi gamma(g))) arcsin(g^2 C/(1+g^2)); for the power, k_p(C) (:func:`power_covariance`; ``g`` is then only
    the switch "twin or latent", its value unused). Both have value 1 at displacement 0.
    """
    k1 = wrapped_kernel_1d(L, xi)
    c = k1 if dim == 1 else np.outer(k1, k1)
    if g is not None:
        if nonlinearity == "power":
            return power_covariance(c, p)
        c = (2 / (math.pi * gamma(g))) * np.arcsin(g * g * c / (1 + g * g))
    return c


def analytic_covariance(dim: int = 2, L: int = 28, xi: float = 1.0, g: float | None = None,
                        nonlinearity: str = "erf", p: float = 2.0) -> np.ndarray:
    """The (D, D) covariance sampled, D = L (1-D) or L*L (2-D, row-major pixels): of the NLGP's pixels if ``g`` is
    given (= the twin's kernel K; for ``nonlinearity="power"`` of exponent ``p``), else of the latent field z (the
    wrapped kernel C)."""
    row = kernel_row(dim, L, xi, g, nonlinearity, p)
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
    dim, L, g, p, nonlin = int(o["dim"]), int(o["L"]), float(o["g"]), float(o["p"]), o["nonlinearity"]
    if dim not in (1, 2):
        raise ValueError(f"nlgp: dim must be 1 or 2, got {dim}")
    if nonlin not in NONLINEARITIES:
        raise ValueError(f"nlgp: nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlin!r}")
    if L < 2 or g <= 0 or p <= 0 or o["xi0"] <= 0 or o["xi1"] <= 0:
        raise ValueError("nlgp: need L >= 2, g > 0, p > 0, xi0 > 0, xi1 > 0")
    n = int(o["n_train" if split == "train" else "n_test"])
    dev = resolve_device(o["device"], setting="data.options.device")
    gen = generator(derive_seed(seed, "nlgp", split), dev)
    sizes = (n - n // 2, n // 2)
    parts = []
    for k, xi in enumerate((float(o["xi0"]), float(o["xi1"]))):
        if o["gaussian"]:
            row = kernel_row(dim, L, xi, g, nonlin, p)
            parts.append(_sample(sizes[k], dim, L, row, gen, dev, int(o["batch_size"])))
            continue
        z = _sample(sizes[k], dim, L, kernel_row(dim, L, xi), gen, dev, int(o["batch_size"]))
        if nonlin == "power":
            parts.append(torch.sign(z) * z.abs().pow(p) / math.sqrt(power_moment(p)))
        else:
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
              "normalisation": "exact: every pixel has mean 0 and variance 1 ("
              + ("sign(z)|z|^p/sqrt(E|z|^2p))" if nonlin == "power" else "erf(g z/sqrt2)/sqrt(gamma(g)))")
              + ("; Gaussian twin with the NLGP's covariance" if o["gaussian"] else ""),
              "options": {k: o[k] for k in OPTIONS if k != "device"}, "seed": seed, "split": split},
    )
