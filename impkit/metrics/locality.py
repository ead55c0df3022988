"""Mask correlation S_i(d) (paper Eq. 1) and receptive-field width from a 2-D Gaussian fit.

Conventions (SPEC §3), all stated here once and used everywhere:

* **Layout.** A mask row is a CHW-flattened image (all of channel 0 row-major, then channel 1, ...).
  ``S[i, dy + H - 1, dx + W - 1] = sum_{z - z' = (dy, dx)} m_i(z) m_i(z')``.
* **Colour.** ``channels="same"`` (default) sums the same-channel pairs over channels;
  ``"cross"`` sums the pairs of *different* channels (P&B's cross-channel part); ``"all"`` = same + cross
  (autocorrelation of the channel-summed mask); ``"any"`` first merges channels (a pixel survives if any
  channel does) and correlates that single-channel mask.
* **Exactness.** S is computed by a zero-padded FFT autocorrelation of all units at once and, for 0/1 masks,
  rounded to the exact integer pair counts.

RF width (:func:`rf_width_fit`), the estimator and why:

1. **Fall-off.** S(d) is divided by the pair count of a *full* mask at that displacement,
   ``N(d) = n_c (H - |dy|)(W - |dx|)`` (``n_c`` = number of channel pairs of the convention). A uniformly random
   mask with k of D weights then has a flat normalised profile ``y(d) = S/N ~ k(k-1)/(D(D-1))`` and a local blob a
   peak; without this the triangle of available pairs would itself look like a (broad) receptive field.
2. **d = 0 is excluded.** S(0) is just the number of surviving weights, a trivial peak that says nothing about
   where they are.
3. **Model and weights.** ``y(d) = A exp(-dx^2/2sx^2 - dy^2/2sy^2) + c`` fitted by weighted least squares with
   weights N(d): S(d) is a (roughly Poisson) pair count, so var y(d) ~ 1/N(d) and this is the inverse-variance
   weighting; the noisy large-|d| tail, with few pairs, counts little. ``c`` (``offset=True``, default) absorbs the
   floor of scattered, non-local surviving weights, so the width measures the local component only.
4. **Bounds.** ``A >= 0`` and ``sigma in [sigma_min, sigma_max]`` (default 0.5 pixel .. max(H, W)).
5. **No structure -> image size.** A flat profile has no width; with an offset it would otherwise be fitted to
   noise. The Gaussian term is kept only if it explains significantly more than a flat line: an F statistic
   ``F = ((RSS_flat - RSS)/3) / (RSS/(M - 4))`` (M = independent displacements, half the plane by symmetry) must
   exceed ``min_f`` (default 10) and A > 0. Units that fail get ``sigma_x = sigma_y = sigma_max`` (the width of
   the image) and ``detected = False``. With ``offset=False`` no test is needed: a flat profile drives the fit to
   sigma_max by itself (but a random floor then inflates the width of local units).
6. **Exclusion.** Units with fewer than ``min_weights`` (default 8) surviving weights get NaN and are counted in
   ``n_excluded``: with k weights there are only k(k-1)/2 distinct pairs to constrain four parameters.

The fit itself is vectorised over units: a coarse grid over (sx, sy) with A, c in closed form, then a batched
Levenberg-Marquardt on (A, c, log sx, log sy). Because both the Gaussian and N(d) factorise in dx and dy, every
sum the fit needs is a product of 1-D sums or one batched matrix-vector product with S, so an iteration costs
O(units x H x W).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.fft as sfft
import torch

__all__ = [
    "mask_correlation",
    "pair_counts",
    "normalized_correlation",
    "rf_width",
    "rf_width_fit",
    "RFWidthResult",
    "gaussian_fit_profiles",
    "summarize_over_units",
    "summarize_over_seeds",
    "locality_index",
]

_CHANNEL_MODES = ("same", "cross", "all", "any")


def _as_numpy(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _shape3(image_shape: Sequence[int]) -> tuple[int, int, int]:
    s = tuple(int(v) for v in image_shape)
    if len(s) == 2:
        return (1, s[0], s[1])
    if len(s) != 3:
        raise ValueError(f"image_shape must be (C, H, W) or (H, W), got {image_shape}")
    return s  # type: ignore[return-value]


def _channel_pair_multiplicity(c: int, channels: str) -> int:
    if channels == "same":
        return c
    if channels == "cross":
        return c * (c - 1)
    if channels == "all":
        return c * c
    if channels == "any":
        return 1
    raise ValueError(f"channels must be one of {_CHANNEL_MODES}, got {channels!r}")


def _correlation(m: np.ndarray, image_shape, channels: str, exact: bool) -> np.ndarray:
    """m: (U, D) float array -> S (U, 2H-1, 2W-1) float64 (scipy pocketfft, single-threaded)."""
    c, h, w = _shape3(image_shape)
    u = m.shape[0]
    if m.shape[1] != c * h * w:
        raise ValueError(f"masks have D={m.shape[1]} but image_shape {tuple(image_shape)} has {c*h*w} pixels")
    x = m.reshape(u, c, h, w)
    if channels == "any":
        x = (x != 0).any(axis=1, keepdims=True).astype(m.dtype)
    _channel_pair_multiplicity(c, channels)  # validates
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
        channels: "same" (default), "cross", "all" or "any" (module docstring).
        as_tensor: return a torch tensor instead of a float64 numpy array (default). Torch inputs on any
            device are accepted (computed on the CPU with scipy's FFT).

    Returns:
        S of shape (units, 2H-1, 2W-1); ``S[i, H-1, W-1]`` is d = 0. Integer-exact for 0/1 masks.
    """
    m = _as_numpy(masks)
    squeeze = m.ndim == 1
    if squeeze:
        m = m[None]
    is_binary = m.dtype == bool or not np.issubdtype(m.dtype, np.floating) or bool(((m == 0) | (m == 1)).all())
    # 0/1 masks: float32 FFT then rounding is exact (errors << 0.5 for counts up to ~1e5); otherwise float64.
    dt = np.float32 if is_binary else np.float64
    s = _correlation(m.astype(dt), image_shape, channels, exact=is_binary)
    if normalize:
        s = s / pair_counts(image_shape, channels)
    if squeeze:
        s = s[0]
    return torch.from_numpy(s) if as_tensor else s


def pair_counts(image_shape, channels: str = "same") -> np.ndarray:
    """N(d) = n_c (H - |dy|)(W - |dx|): the S(d) of a full mask, shape (2H-1, 2W-1)."""
    c, h, w = _shape3(image_shape)
    nc = _channel_pair_multiplicity(c, channels)
    wy = h - np.abs(np.arange(-(h - 1), h))
    wx = w - np.abs(np.arange(-(w - 1), w))
    return nc * np.outer(wy, wx).astype(np.float64)


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
    robust for masks made of several clumps; d = 0 is excluded as in :func:`rf_width_fit`.

    Args:
        masks: (units, D) 0/1 masks, CHW-flattened rows.
        image_shape: (C, H, W).
        radius: pixels; displacements with 0 < |d| <= radius count as near.
        min_weights: units with fewer surviving weights get NaN.
        channels: colour convention of :func:`mask_correlation`.

    Returns:
        (units,) float64 array.
    """
    m = _as_numpy(masks)
    if m.ndim == 1:
        m = m[None]
    m = m != 0
    _, h, w = _shape3(image_shape)
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


# --------------------------------------------------------------------------------------------------
# Batched Gaussian fit
# --------------------------------------------------------------------------------------------------


@dataclass
class RFWidthResult:
    """Per-unit result of :func:`rf_width_fit` (all arrays have length ``units``; NaN for excluded units).

    sigma_x, sigma_y: reported widths (pixels); sigma_max for units without a significant Gaussian peak.
    sigma_x_fit, sigma_y_fit: the fitted widths before the detection rule.
    amplitude, offset: A and c of the fit to the normalised profile S(d)/N(d).
    residual: weighted RSS of the fit; f_stat: F statistic of Gaussian-vs-flat; detected: F >= min_f and A > 0.
    n_weights: surviving weights per unit; excluded: bool mask; n_excluded: how many units were excluded.
    """

    sigma_x: np.ndarray
    sigma_y: np.ndarray
    sigma_x_fit: np.ndarray
    sigma_y_fit: np.ndarray
    amplitude: np.ndarray
    offset: np.ndarray
    residual: np.ndarray
    f_stat: np.ndarray
    detected: np.ndarray
    n_weights: np.ndarray
    excluded: np.ndarray
    n_excluded: int
    settings: dict = field(default_factory=dict)

    @property
    def n_units(self) -> int:
        return int(self.sigma_x.shape[0])

    def summary(self) -> dict:
        """Mean / median of sigma_x and sigma_y over included units, counts, fraction detected."""
        out = summarize_over_units(self.sigma_x)
        out.update({f"{k}_y": v for k, v in summarize_over_units(self.sigma_y).items() if k in ("mean", "median")})
        inc = ~self.excluded
        out["frac_detected"] = float(self.detected[inc].mean()) if inc.any() else float("nan")
        out["n_excluded"] = self.n_excluded
        out["n_units"] = self.n_units
        return out


class _Geometry:
    """Displacement grids and the separable weights of one image shape."""

    def __init__(self, image_shape, channels: str):
        c, h, w = _shape3(image_shape)
        self.h, self.w = h, w
        self.nc = float(_channel_pair_multiplicity(c, channels))
        self.dy = np.arange(-(h - 1), h, dtype=np.float64)
        self.dx = np.arange(-(w - 1), w, dtype=np.float64)
        self.wy = h - np.abs(self.dy)
        self.wx = w - np.abs(self.dx)
        self.w0 = self.nc * h * w  # N(0)
        self.n_pairs = self.nc * np.outer(self.wy, self.wx)
        self.sw = self.nc * self.wy.sum() * self.wx.sum() - self.w0  # sum of weights over d != 0
        self.m_eff = ((2 * h - 1) * (2 * w - 1) - 1) / 2.0  # independent displacements (S(d) = S(-d))


def _moments_1d(e: np.ndarray, q: np.ndarray, wt: np.ndarray) -> dict:
    """1-D weighted sums along the last axis: (k, b) -> sum wt e^k q^b, shape (U,)."""
    we = wt * e
    we2 = we * e
    return {
        (1, 0): we.sum(-1), (1, 1): (we * q).sum(-1),
        (2, 0): we2.sum(-1), (2, 1): (we2 * q).sum(-1), (2, 2): (we2 * q * q).sum(-1),
    }


def _lm_fit(s: np.ndarray, geo: _Geometry, offset: bool, sigma_min: float, sigma_max: float,
            n_iter: int, grid: int):
    """Batched weighted fit of y = A g + c to y = S/N (weights N, d = 0 excluded). s: (U, Hd, Wd) float64.

    Returns params (U, 4) = (A, c, log sx, log sy), the weighted RSS and the RSS of the flat model.
    """
    u = s.shape[0]
    h, w = geo.h, geo.w
    s0 = s[:, h - 1, w - 1]
    t0 = s.sum(axis=(1, 2)) - s0
    syy = (s * s / geo.n_pairs).sum(axis=(1, 2)) - s0 * s0 / geo.w0
    sw, nc, w0 = geo.sw, geo.nc, geo.w0
    lo, hi = np.log(sigma_min), np.log(sigma_max)
    rss_flat = syy - t0 * t0 / sw if offset else syy.copy()

    # ---- coarse grid over (sx, sy): A and c in closed form
    sig = np.exp(np.linspace(lo, hi, grid))
    gx = np.exp(-geo.dx[None, :] ** 2 / (2 * sig[:, None] ** 2))  # (G, Wd)
    gy = np.exp(-geo.dy[None, :] ** 2 / (2 * sig[:, None] ** 2))  # (G, Hd)
    r = np.matmul(s, gx.T)  # (U, Hd, G)
    tg = np.matmul(gy, r) - s0[:, None, None]  # (U, G_y, G_x)
    sg = nc * np.outer((geo.wy * gy).sum(-1), (geo.wx * gx).sum(-1)) - w0
    sgg = nc * np.outer((geo.wy * gy * gy).sum(-1), (geo.wx * gx * gx).sum(-1)) - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        if offset:
            det = sgg * sw - sg * sg
            a = (sw * tg - sg * t0[:, None, None]) / det
            c = (sgg * t0[:, None, None] - sg * tg) / det
            rss = syy[:, None, None] - (a * tg + c * t0[:, None, None])
        else:
            a = tg / sgg
            c = np.zeros_like(a)
            rss = syy[:, None, None] - a * tg
    rss = np.where(a > 0, rss, rss_flat[:, None, None])
    k = rss.reshape(u, -1).argmin(axis=1)
    iy, ix = np.unravel_index(k, (grid, grid))
    ar = np.arange(u)
    p = np.stack([np.maximum(a[ar, iy, ix], 0.0), c[ar, iy, ix], np.log(sig[ix]), np.log(sig[iy])], axis=1)
    flat0 = ~(a[ar, iy, ix] > 0)
    if flat0.any():  # no peak anywhere on the grid: start broad with a small amplitude
        p[flat0, 2:] = hi
        p[flat0, 0] = 1e-3 * np.maximum(np.abs(t0[flat0] / sw), 1e-12)
        p[flat0, 1] = t0[flat0] / sw if offset else 0.0

    # ---- Levenberg-Marquardt on (A, c, log sx, log sy); every sum separable in dx, dy
    def evaluate(s_, s0_, t0_, syy_, p, need_jac: bool):
        n = s_.shape[0]
        a_, c_ = p[:, 0], p[:, 1]
        sx, sy = np.exp(p[:, 2]), np.exp(p[:, 3])
        qx = geo.dx[None, :] ** 2 / sx[:, None] ** 2
        qy = geo.dy[None, :] ** 2 / sy[:, None] ** 2
        ex, ey = np.exp(-0.5 * qx), np.exp(-0.5 * qy)
        mx, my = _moments_1d(ex, qx, geo.wx), _moments_1d(ey, qy, geo.wy)
        sg_ = nc * mx[1, 0] * my[1, 0] - w0
        sgg_ = nc * mx[2, 0] * my[2, 0] - w0
        if need_jac:
            rr = np.matmul(s_, np.stack([ex, ex * qx], axis=2))  # (U, Hd, 2)
            r0 = rr[..., 0]
        else:
            r0 = np.matmul(s_, ex[:, :, None])[..., 0]
        tg_ = (ey * r0).sum(-1) - s0_
        rss_ = syy_ - 2 * (a_ * tg_ + c_ * t0_) + a_ * a_ * sgg_ + 2 * a_ * c_ * sg_ + c_ * c_ * sw
        if not need_jac:
            return rss_, None, None
        tgx = (ey * rr[..., 1]).sum(-1)
        tgy = (ey * qy * r0).sum(-1)
        sgqx, sgqy = nc * mx[1, 1] * my[1, 0], nc * mx[1, 0] * my[1, 1]
        sggqx, sggqy = nc * mx[2, 1] * my[2, 0], nc * mx[2, 0] * my[2, 1]
        m = np.empty((n, 4, 4))
        m[:, 0, 0] = sgg_
        m[:, 0, 1] = m[:, 1, 0] = sg_
        m[:, 0, 2] = m[:, 2, 0] = a_ * sggqx
        m[:, 0, 3] = m[:, 3, 0] = a_ * sggqy
        m[:, 1, 1] = sw
        m[:, 1, 2] = m[:, 2, 1] = a_ * sgqx
        m[:, 1, 3] = m[:, 3, 1] = a_ * sgqy
        m[:, 2, 2] = a_ * a_ * nc * mx[2, 2] * my[2, 0]
        m[:, 3, 3] = a_ * a_ * nc * mx[2, 0] * my[2, 2]
        m[:, 2, 3] = m[:, 3, 2] = a_ * a_ * nc * mx[2, 1] * my[2, 1]
        gvec = np.stack([
            tg_ - (a_ * sgg_ + c_ * sg_),
            t0_ - (a_ * sg_ + c_ * sw),
            a_ * tgx - (a_ * a_ * sggqx + a_ * c_ * sgqx),
            a_ * tgy - (a_ * a_ * sggqy + a_ * c_ * sgqy),
        ], axis=1)
        if not offset:  # freeze c = 0
            m[:, 1, :] = 0.0
            m[:, :, 1] = 0.0
            m[:, 1, 1] = 1.0
            gvec[:, 1] = 0.0
        return rss_, m, gvec

    # working set, compacted as units converge (avoids touching converged units' S)
    ids = np.arange(u)
    s_c, s0_c, t0_c, syy_c = s, s0, t0, syy
    p_c = p.copy()
    rss_c, m_c, g_c = evaluate(s_c, s0_c, t0_c, syy_c, p_c, True)
    rss_out = rss_c.copy()
    mu = np.full(u, 1e-3)
    active = np.ones(u, dtype=bool)
    eye = np.eye(4)
    for _ in range(n_iter):
        if not active.any():
            break
        if active.mean() < 0.6:  # compact
            keep = np.nonzero(active)[0]
            ids, s_c, s0_c, t0_c, syy_c = ids[keep], s_c[keep], s0_c[keep], t0_c[keep], syy_c[keep]
            p_c, rss_c, m_c, g_c, mu, active = p_c[keep], rss_c[keep], m_c[keep], g_c[keep], mu[keep], active[keep]
        # projected LM: parameters at a bound whose gradient points outward are frozen for this step
        frozen = np.zeros_like(g_c, dtype=bool)
        frozen[:, 0] = (p_c[:, 0] <= 0.0) & (g_c[:, 0] <= 0.0)
        frozen[:, 2:] = ((p_c[:, 2:] >= hi - 1e-12) & (g_c[:, 2:] >= 0.0)) | (
            (p_c[:, 2:] <= lo + 1e-12) & (g_c[:, 2:] <= 0.0))
        if not offset:
            frozen[:, 1] = True
        keepf = (~frozen).astype(np.float64)
        m_f = m_c * keepf[:, :, None] * keepf[:, None, :] + frozen[:, :, None] * eye
        g_f = g_c * keepf
        diag = np.diagonal(m_f, axis1=1, axis2=2)
        floor = 1e-12 * np.abs(diag).max(axis=1, keepdims=True) + 1e-300
        a_sys = m_f + (mu[:, None] * np.maximum(diag, floor) + floor)[:, :, None] * eye
        step = np.nan_to_num(np.linalg.solve(a_sys, g_f[..., None])[..., 0])
        cand = p_c + step
        cand[:, 0] = np.maximum(cand[:, 0], 0.0)
        cand[:, 2:] = np.clip(cand[:, 2:], lo, hi)
        if not offset:
            cand[:, 1] = 0.0
        rss_new, _, _ = evaluate(s_c, s0_c, t0_c, syy_c, cand, False)
        better = (rss_new < rss_c) & active
        gain = np.where(better, rss_c - rss_new, 0.0)
        if better.any():
            p_c = np.where(better[:, None], cand, p_c)
            bi = np.nonzero(better)[0]
            r_b, m_b, g_b = evaluate(s_c if bi.size == s_c.shape[0] else s_c[bi],
                                     s0_c[bi], t0_c[bi], syy_c[bi], p_c[bi], True)
            rss_c[bi], m_c[bi], g_c[bi] = r_b, m_b, g_b
        mu = np.clip(np.where(better, mu / 3.0, mu * 4.0), 1e-9, 1e9)
        tiny_step = np.abs(step[:, 2:]).max(axis=1) < 1e-8
        done = (better & ((gain <= 1e-10 * np.maximum(rss_c, 1e-300)) | tiny_step)) | (mu >= 1e5) | ~active
        active = ~done
        p[ids] = p_c
        rss_out[ids] = rss_c
    p[ids] = p_c
    rss_out[ids] = rss_c
    rss_cur = rss_out
    return p, rss_cur, rss_flat


def gaussian_fit_profiles(s, image_shape, channels: str = "same", offset: bool = True, sigma_min: float = 0.5,
                          sigma_max: float | None = None, n_iter: int = 100, grid: int = 12) -> dict:
    """Fit ``S/N = A exp(-dx^2/2sx^2 - dy^2/2sy^2) + c`` (weights N, d = 0 excluded) to given profiles.

    Args:
        s: (units, 2H-1, 2W-1) un-normalised correlations S (as from :func:`mask_correlation`).
    Returns:
        dict of (units,) numpy arrays: amplitude, offset, sigma_x, sigma_y, residual, residual_flat, f_stat.
    """
    c_, h, w = _shape3(image_shape)
    geo = _Geometry(image_shape, channels)
    st = np.asarray(_as_numpy(s), dtype=np.float64)
    if st.ndim == 2:
        st = st[None]
    smax = float(max(h, w)) if sigma_max is None else float(sigma_max)
    p, rss, rss_flat = _lm_fit(st, geo, offset, sigma_min, smax, n_iter, grid)
    dof = max(geo.m_eff - 4, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = ((rss_flat - rss) / 3.0) / (np.maximum(rss, 1e-300) / dof)
    return {
        "amplitude": p[:, 0], "offset": p[:, 1], "sigma_x": np.exp(p[:, 2]), "sigma_y": np.exp(p[:, 3]),
        "residual": rss, "residual_flat": rss_flat, "f_stat": f,
    }


def rf_width_fit(masks, image_shape, min_weights: int = 8, channels: str = "same", offset: bool = True,
                 min_f: float = 10.0, min_contrast: float = 0.5, sigma_min: float = 0.5,
                 sigma_max: float | None = None, chunk: int = 2048, n_iter: int = 100) -> RFWidthResult:
    """RF width of every unit from a Gaussian fit to its normalised mask correlation (module docstring).

    Args:
        masks: (units, D) 0/1 masks (or weights: nonzero = surviving), CHW-flattened rows; numpy or torch.
        image_shape: (C, H, W).
        min_weights: units with fewer surviving weights are excluded (NaN) and counted.
        channels: colour convention of :func:`mask_correlation`.
        offset: fit a constant floor c (default) or not.
        min_f: F-statistic threshold for a significant Gaussian peak (only with ``offset=True``).
        min_contrast: the peak must also rise at least this fraction above the floor, A >= min_contrast * c
            (only with ``offset=True``).
        sigma_min, sigma_max: bounds on sigma in pixels (default 0.5 and max(H, W)).
        chunk: units per batch.
    """
    m = _as_numpy(masks)
    if m.ndim == 1:
        m = m[None]
    m = m != 0
    c_, h, w = _shape3(image_shape)
    smax = float(max(h, w)) if sigma_max is None else float(sigma_max)
    n_units = m.shape[0]
    counts = m.sum(axis=1)
    excluded = counts < min_weights
    keys = ["amplitude", "offset", "sigma_x", "sigma_y", "residual", "f_stat"]
    out = {k: np.full(n_units, np.nan) for k in keys}
    idx = np.nonzero(~excluded)[0]
    for start in range(0, len(idx), chunk):
        sel = idx[start:start + chunk]
        s = mask_correlation(m[sel], image_shape, channels=channels)
        r = gaussian_fit_profiles(s, image_shape, channels=channels, offset=offset, sigma_min=sigma_min,
                                  sigma_max=smax, n_iter=n_iter)
        for k in keys:
            out[k][sel] = r[k]
    with np.errstate(invalid="ignore"):
        if offset:
            detected = (out["f_stat"] >= min_f) & (out["amplitude"] > 0) & (
                out["amplitude"] >= min_contrast * np.maximum(out["offset"], 0.0))
        else:
            detected = out["amplitude"] > 0
    detected &= ~excluded
    sx = np.where(detected, out["sigma_x"], smax)
    sy = np.where(detected, out["sigma_y"], smax)
    sx[excluded] = np.nan
    sy[excluded] = np.nan
    return RFWidthResult(
        sigma_x=sx, sigma_y=sy, sigma_x_fit=out["sigma_x"], sigma_y_fit=out["sigma_y"],
        amplitude=out["amplitude"], offset=out["offset"], residual=out["residual"], f_stat=out["f_stat"],
        detected=detected, n_weights=counts.astype(np.int64), excluded=excluded, n_excluded=int(excluded.sum()),
        settings=dict(min_weights=min_weights, channels=channels, offset=offset, min_f=min_f,
                      min_contrast=min_contrast, sigma_min=sigma_min, sigma_max=smax, image_shape=(c_, h, w)),
    )


def rf_width(masks, image_shape, min_weights: int = 8, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """(sigma_x, sigma_y) per unit, NaN for excluded units. See :func:`rf_width_fit` for the options
    and for the number of excluded units."""
    r = rf_width_fit(masks, image_shape, min_weights=min_weights, **kwargs)
    return r.sigma_x, r.sigma_y


# --------------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------------


def summarize_over_units(values) -> dict:
    """mean, median, std, n (non-NaN) and n_nan of per-unit values (NaN = excluded)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    ok = np.isfinite(v)
    n = int(ok.sum())
    return {
        "mean": float(v[ok].mean()) if n else float("nan"),
        "median": float(np.median(v[ok])) if n else float("nan"),
        "std": float(v[ok].std()) if n else float("nan"),
        "n": n,
        "n_nan": int((~ok).sum()),
    }


def summarize_over_seeds(values) -> dict:
    """Per-x statistics across seeds: ``values`` (seeds, rounds) -> dict of (rounds,) arrays mean/min/max/n.

    NaNs (a seed without a value) are ignored; a round with no value gives NaN.
    """
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    ok = np.isfinite(v)
    n = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(v, 0) / np.maximum(n, 1), np.nan)
        vmin = np.where(n > 0, np.min(np.where(ok, v, np.inf), 0), np.nan)
        vmax = np.where(n > 0, np.max(np.where(ok, v, -np.inf), 0), np.nan)
    return {"mean": mean, "min": vmin, "max": vmax, "n": n}
