"""Mask correlation S_i(d) (paper Eq. 1), the pair counts N(d) and partner counts X(d), and the locality index.

``S[i, dy + H - 1, dx + W - 1] = sum_{z - z' = (dy, dx)} m_i(z) m_i(z')`` for the mask m_i of unit i: how many
pairs of surviving weights lie a displacement d apart. Layout and colour convention (``channels``): see
:mod:`impkit.metrics.conventions`.

S is computed by a zero-padded FFT autocorrelation of all units at once and, for 0/1 masks, rounded to the exact
integer pair counts. ``N(d)`` (:func:`pair_counts`) is the S of a full mask: a uniformly random mask with k of D
weights has ``E S(d) = k(k-1)/(D(D-1)) N(d)``, so S/N is flat for a mask without spatial structure. The locality
index compares the pair density S/N at short displacements with that at all displacements.
"""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft
import torch

from impkit.metrics.conventions import as_numpy, channel_pair_multiplicity, shape3

__all__ = ["mask_correlation", "pair_counts", "partner_counts", "normalized_correlation", "locality_index"]


def _fft_autocorrelation(m: np.ndarray, image_shape, channels: str, exact: bool) -> np.ndarray:
    """S of (U, D) float masks: (U, 2H-1, 2W-1) float64, by scipy's pocketfft (single-threaded).

    ``exact`` rounds S to integers (correct for 0/1 masks)."""
    c, h, w = shape3(image_shape)
    u = m.shape[0]
    if m.shape[1] != c * h * w:
        raise ValueError(f"masks have D={m.shape[1]} but image_shape {tuple(image_shape)} has {c*h*w} pixels")
    x = m.reshape(u, c, h, w)
    if channels == "any":
        x = (x != 0).any(axis=1, keepdims=True).astype(m.dtype)
    channel_pair_multiplicity(c, channels)  # validates
    size = (2 * h - 1, 2 * w - 1)
    f = sfft.rfft2(x, s=size, axes=(-2, -1))  # (U, C, 2H-1, W')
    if channels in ("same", "any"):
        p = (f.real ** 2 + f.imag ** 2).sum(axis=1)
    else:
        tot = f.sum(axis=1)
        p = tot.real ** 2 + tot.imag ** 2
        if channels == "cross":
            p = p - (f.real ** 2 + f.imag ** 2).sum(axis=1)
    s = sfft.irfft2(p, s=size, axes=(-2, -1))
    s = np.roll(s, shift=(h - 1, w - 1), axis=(-2, -1))
    if exact:
        s = np.rint(s)
    return s.astype(np.float64, copy=False)


def mask_correlation(masks, image_shape, normalize: bool = False, channels: str = "same",
                     as_tensor: bool = False):
    """Mask correlation S_i(d) of paper Eq. 1 for all units at once.

    Args:
        masks: (units, D) bool/0-1/float array or tensor, rows CHW-flattened (a single (D,) row is accepted).
        image_shape: (C, H, W) (or (H, W)).
        normalize: if True return S(d) / N(d), N(d) the pair count of a full mask (see :func:`pair_counts`),
            so that a uniformly random mask gives a flat profile.
        channels: "same" (default), "cross", "all" or "any" (:mod:`impkit.metrics.conventions`).
        as_tensor: return a torch tensor instead of a float64 numpy array (default). Torch inputs on any
            device are accepted (computed on the CPU with scipy's FFT).

    Returns:
        S of shape (units, 2H-1, 2W-1); ``S[i, H-1, W-1]`` is d = 0. Integer-exact for 0/1 masks.
    """
    m = as_numpy(masks)
    squeeze = m.ndim == 1
    if squeeze:
        m = m[None]
    is_binary = m.dtype == bool or not np.issubdtype(m.dtype, np.floating) or bool(((m == 0) | (m == 1)).all())
    # 0/1 masks: float32 FFT then rounding is exact (errors << 0.5 for counts up to ~1e5); otherwise float64.
    dt = np.float32 if is_binary else np.float64
    s = _fft_autocorrelation(m.astype(dt), image_shape, channels, exact=is_binary)
    if normalize:
        s = s / pair_counts(image_shape, channels)
    if squeeze:
        s = s[0]
    return torch.from_numpy(s) if as_tensor else s


def pair_counts(image_shape, channels: str = "same") -> np.ndarray:
    """N(d) = n_c (H - |dy|)(W - |dx|): the S(d) of a full mask, shape (2H-1, 2W-1).

    n_c is the number of channel pairs per pixel pair under the colour convention
    (:func:`impkit.metrics.conventions.channel_pair_multiplicity`)."""
    c, h, w = shape3(image_shape)
    nc = channel_pair_multiplicity(c, channels)
    wy = h - np.abs(np.arange(-(h - 1), h))
    wx = w - np.abs(np.arange(-(w - 1), w))
    return nc * np.outer(wy, wx).astype(np.float64)


def partner_counts(masks, image_shape, channels: str = "same") -> np.ndarray:
    """X(d): pixel pairs at displacement d with one end on a surviving weight (averaged over the two ends).

    ``X(d) = (S_{m,1}(d) + S_{1,m}(d)) / 2``, the correlation of the mask with a full mask under the same colour
    convention (so X = N for a full mask, and E X = (k/D) N for a random one). If a mask holds, besides any local
    structure, weights scattered at random with density rho, the pairs with at least one scattered weight number
    ``2 rho X(d) - rho^2 N(d)`` in expectation; the RF-width fit uses this as its background. Linear in the mask:
    a (units, D) array of keep probabilities gives the expected X. Computed from 2-D prefix sums of the
    channel-summed mask (the count of surviving weights in every shifted window).

    Returns:
        (units, 2H-1, 2W-1) float64 (a single (D,) row gives (2H-1, 2W-1)).
    """
    m = as_numpy(masks)
    squeeze = m.ndim == 1
    if squeeze:
        m = m[None]
    c, h, w = shape3(image_shape)
    mult = channel_pair_multiplicity(c, channels) / (1 if channels == "any" else c)  # partner channels per weight
    x = m.reshape(m.shape[0], c, h, w).astype(np.float64)
    msum = (x != 0).any(axis=1).astype(np.float64) if channels == "any" else x.sum(axis=1)
    pre = np.zeros((m.shape[0], h + 1, w + 1))
    pre[:, 1:, 1:] = msum.cumsum(axis=1).cumsum(axis=2)
    dy, dx = np.arange(-(h - 1), h), np.arange(-(w - 1), w)
    y0, y1 = np.maximum(0, -dy), np.minimum(h, h - dy)
    x0, x1 = np.maximum(0, -dx), np.minimum(w, w - dx)
    a, b = pre[:, y1], pre[:, y0]
    out = (a[:, :, x1] - b[:, :, x1] - a[:, :, x0] + b[:, :, x0]) * mult
    out = 0.5 * (out + out[:, ::-1, ::-1])
    return out[0] if squeeze else out


def normalized_correlation(masks, image_shape, channels: str = "same") -> np.ndarray:
    """S(d) / N(d) (see :func:`mask_correlation`)."""
    return mask_correlation(masks, image_shape, normalize=True, channels=channels)


def locality_index(masks, image_shape, radius: float = 2.0, min_weights: int = 8,
                   channels: str = "same") -> np.ndarray:
    """Fit-free locality of each unit's mask: how much likelier a near pair of surviving weights is than any pair.

    ``LI_i = [sum_{0<|d|<=r} S_i(d) / sum_{0<|d|<=r} N(d)] / [sum_{d!=0} S_i(d) / sum_{d!=0} N(d)]`` with S the mask
    correlation and N(d) the pair count of a full mask (:func:`pair_counts`), |d| the Euclidean displacement.
    Numerator and denominator are pair densities: the probability that two pixels ``d`` apart both survive, pooled
    over short displacements and over all displacements. A uniformly random mask has the same density at every d,
    so LI = 1 in expectation whatever its sparsity; a compact patch of surviving weights has LI >> 1 (about
    D / (patch area) for a filled patch). Unlike a Gaussian fit it needs no model of the profile's shape, so it is
    robust for masks made of several clumps; d = 0 is excluded as in
    :func:`impkit.metrics.receptive_field.rf_width_fit`.

    Args:
        masks: (units, D) 0/1 masks, CHW-flattened rows.
        image_shape: (C, H, W).
        radius: pixels; displacements with 0 < |d| <= radius count as near.
        min_weights: units with fewer surviving weights get NaN.
        channels: colour convention of :func:`mask_correlation`.

    Returns:
        (units,) float64 array.
    """
    m = as_numpy(masks)
    if m.ndim == 1:
        m = m[None]
    m = m != 0
    _, h, w = shape3(image_shape)
    s = mask_correlation(m, image_shape, channels=channels).astype(np.float64)
    n = pair_counts(image_shape, channels)
    dy, dx = np.meshgrid(np.arange(-(h - 1), h), np.arange(-(w - 1), w), indexing="ij")
    dist = np.hypot(dy, dx)
    near = (dist > 0) & (dist <= radius)
    rest = dist > 0
    near_density = s[:, near].sum(1) / n[near].sum()
    all_density = s[:, rest].sum(1) / n[rest].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        li = near_density / all_density
    li[m.sum(1) < min_weights] = np.nan
    return li
