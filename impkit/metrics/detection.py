"""Detection of a local peak in a unit's mask correlation: the statistic, its random-mask null and the threshold.

A receptive-field width exists only where there is a local peak. For every (sx, sy) of a 12 x 12 log grid of
Gaussian kernels ``g(d) = exp(-dx^2/2sx^2 - dy^2/2sy^2)`` the statistic

    ``L = sum_d (g/N - sum g / sum N) S(d)``   (half plane, d != 0; :mod:`impkit.metrics.half_plane`)

is the kernel-weighted pair density in excess of the unit's own mean density. Over uniformly random masks with the
unit's k weights it has mean 0 and an exact variance in closed form (L is a quadratic form of the mask; pairs
sharing a weight make it much larger than a Poisson variance for dense masks). The detection statistic is the
largest ``L / sd(L)`` over the grid. Its null distribution (a maximum over correlated kernels, skewed for small k)
is simulated from 1000 random k-weight masks (fixed seed, cached per process; every k <= 32, a 2^(1/4) grid of k
above with interpolation in log k); the threshold is an upper 95 % confidence bound on its (1 - alpha) quantile
(alpha = 0.05), so masks without spatial structure are detected at most ~5 % of the time at every sparsity, image
size and channel count (measured about 4 %, with keep fractions 0.7^n, n = 1..10, on 16/24/32 px, 1 and 3
channels). An F test with a fixed threshold, used before, passed random masks 2 to 22 % of the time: the S(d) of
one mask share weights and are far from independent.

Cost: the scan is two matrix products with S (the kernel sums are separable in dx, dy); the null simulation is a
one-off per (k grid point, image shape, options) and process.
"""
from __future__ import annotations

import functools

import numpy as np

from impkit.metrics.conventions import CHANNEL_MODES, shape3
from impkit.metrics.correlation import mask_correlation
from impkit.metrics.half_plane import HalfPlane

__all__ = ["detection_threshold", "KernelScan", "kernel_scan", "sigma_grid", "null_weights", "default_sigma_max"]


def sigma_grid(sigma_min: float, sigma_max: float, grid: int) -> np.ndarray:
    """``grid`` kernel widths (pixels), log-spaced from sigma_min to sigma_max."""
    return np.exp(np.linspace(np.log(sigma_min), np.log(sigma_max), grid))


def default_sigma_max(h: int, w: int, sigma_max: float | None) -> float:
    """The upper bound on sigma: ``sigma_max``, or the image's larger side when it is None."""
    return float(max(h, w)) if sigma_max is None else float(sigma_max)


class KernelScan:
    """Gaussian kernels on a grid of (sigma_y, sigma_x) for the detection statistic and the fit's start.

    For a kernel g the statistic is the excess of kernel-weighted pair density over the floor,
    ``L = sum_d b(d) S(d)`` with ``b = g/N - sum g / sum N`` (half plane, d != 0): L = sum g S/N - c_hat sum g with
    c_hat = sum S / sum N. It is zero in expectation for a random mask of any density. L is a quadratic form
    ``m^T B m`` of the 0/1 mask, so its variance over uniformly random masks with k of D weights is exact:
    ``var L = Q (2 p2 - 4 p3 + 2 p4) + R (4 p3 - 4 p4)`` with p_j = k(k-1)..(k-j+1) / (D(D-1)..(D-j+1)),
    ``Q = sum_{z != z'} B^2`` (pairs) and ``R = sum_z (sum_z' B_zz')^2`` (pairs sharing a weight; the reason a
    plain Poisson variance understates the spread of dense masks). Both are separable sums, precomputed here.

    Attributes (G = grid points per axis; arrays over the grid are indexed [iy, ix]):
        geo: the :class:`HalfPlane`; sig: (G,) kernel widths.
        gx (G, 2W-1), gy (G, H): the kernel factors; ax (2W-1, G), ay (G, H): the same divided by the pair counts.
        sg: (G, G) sum g; sgg: (G, G) sum g^2 / N; info: (G, G) sum b^2 N; q, r: (G, G) Q and R of var L.
        c_eff: weights per pixel in the null (1 for "any", else C); chi_row: partner channels per weight;
        d_null: positions for the k weights of a null mask (c_eff H W).
    """

    def __init__(self, geo: HalfPlane, sig: np.ndarray):
        h, w, nc = geo.h, geo.w, geo.nc
        self.geo = geo
        self.sig = sig
        self.c_eff = 1 if geo.channels == "any" else geo.c
        self.chi_row = {"same": 1.0, "cross": float(geo.c - 1), "all": float(geo.c), "any": 1.0}[geo.channels]
        self.d_null = self.c_eff * h * w
        self.gx = np.exp(-geo.dx[None, :] ** 2 / (2 * sig[:, None] ** 2))  # (G, 2W-1)
        self.gy = np.exp(-geo.dy[None, :] ** 2 / (2 * sig[:, None] ** 2))  # (G, H)
        self.ax = (self.gx / geo.wx).T  # (2W-1, G)
        self.ay = self.gy / (geo.wy * nc)  # (G, H)
        self.sg = geo.hsum(self.gy[:, None, :], self.gx[None, :, :])  # sum g (Gy, Gx)
        self.sgg = geo.hsum((self.gy ** 2 / geo.wy)[:, None, :], (self.gx ** 2 / geo.wx)[None, :, :]) / nc
        self.info = self.sgg - self.sg ** 2 / geo.sum_n  # sum b^2 N over the half plane
        self.q = self.info / 2.0
        self.r = self.c_eff * self.chi_row ** 2 / 4.0 * self._sum_row_sums_squared()

    def _sum_row_sums_squared(self) -> np.ndarray:
        """(G, G) ``sum_z r(z)^2`` per channel pair, with the row sums ``r(z) = sum_{z' != z} b(z' - z)
        = u(y) v(x) - kappa`` of the quadratic form."""
        geo = self.geo
        h, w, nc = geo.h, geo.w, geo.nc
        yy = np.abs(np.arange(h)[None, :] - np.arange(h)[:, None])  # |y' - y|
        xx = np.arange(w)[None, :] - np.arange(w)[:, None] + (w - 1)  # x' - x, as an index into dx
        u = (self.gy[:, yy] / geo.wy[yy]).sum(-1)  # (G, H)
        v = (self.gx[:, xx] / geo.wx[xx]).sum(-1) / nc  # (G, W)
        kappa = 1.0 / (nc * h * w) + self.sg / geo.sum_n * (h * w - 1)  # (Gy, Gx)
        return (np.outer((u ** 2).sum(-1), (v ** 2).sum(-1)) - 2 * kappa * np.outer(u.sum(-1), v.sum(-1))
                + kappa ** 2 * h * w)

    def sums(self, sh: np.ndarray):
        """t1 = sum g S/N (U, Gy, Gx) and ss = sum S (U,) of half-plane profiles ``sh`` (U, H, 2W-1)."""
        return np.matmul(self.ay, np.matmul(sh, self.ax)), sh.sum(axis=(1, 2))

    def excess(self, t1: np.ndarray, ss: np.ndarray) -> np.ndarray:
        """L (U, Gy, Gx): kernel-weighted pair density in excess of the unit's mean density, from :meth:`sums`."""
        return t1 - (ss / self.geo.sum_n)[:, None, None] * self.sg

    def null_variance(self, k) -> np.ndarray:
        """(U, Gy, Gx) exact variance of L over uniformly random masks with k (U,) of ``d_null`` weights."""
        d = float(self.d_null)
        k = np.asarray(k, dtype=np.float64)
        p2 = k * (k - 1) / (d * (d - 1))
        p3 = p2 * (k - 2) / (d - 2)
        p4 = p3 * (k - 3) / (d - 3)
        return (self.q[None] * (2 * p2 - 4 * p3 + 2 * p4)[:, None, None]
                + self.r[None] * (4 * p3 - 4 * p4)[:, None, None])

    def stat(self, t1: np.ndarray, ss: np.ndarray, k) -> np.ndarray:
        """Detection statistic (U,): max over the grid of L / sd_null(L) for units with k weights (-inf if
        undefined)."""
        var = self.null_variance(k)
        num = self.excess(t1, ss)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = num / np.sqrt(var)
        z = np.where(np.isfinite(z), z, -np.inf)
        return z.reshape(z.shape[0], -1).max(axis=1)


@functools.lru_cache(maxsize=64)
def kernel_scan(shape: tuple, channels: str, sigma_min: float, sigma_max: float, grid: int) -> KernelScan:
    """The :class:`KernelScan` (and through ``.geo`` its :class:`HalfPlane`) of one (C, H, W) shape, colour
    convention and sigma grid, built once per process."""
    return KernelScan(HalfPlane(shape, channels), sigma_grid(sigma_min, sigma_max, grid))


def null_weights(m: np.ndarray, image_shape, channels: str) -> np.ndarray:
    """(U,) number of weights of (U, D) bool masks that enter the null model: surviving weights, or surviving
    pixels for channels="any"."""
    if channels != "any":
        return m.sum(axis=1)
    c, h, w = shape3(image_shape)
    return m.reshape(m.shape[0], c, h * w).any(axis=1).sum(axis=1)


# ---- the random-mask null, simulated once per (k, image shape, options) -----------------------------------------

_K_EXACT = 32  # below this, every k has its own simulated null
_K_STEP = 2.0 ** 0.25  # above it, a geometric grid of k with linear interpolation in log k


def _k_grid_point(j: int) -> int:
    return int(round(_K_EXACT * _K_STEP ** j))


def _k_bracket(k, d: int) -> tuple[int, int]:
    """Neighbouring points k_lo <= k < k_hi of the geometric k grid (k > _K_EXACT; k_hi at most d - 1)."""
    j = int(np.floor(np.log(k / _K_EXACT) / np.log(_K_STEP)))
    while _k_grid_point(j) > k:  # guard against rounding of the grid
        j -= 1
    while _k_grid_point(j + 1) <= k:
        j += 1
    return _k_grid_point(j), min(_k_grid_point(j + 1), d - 1)


def _null_statistics(k: int, shape: tuple, channels: str, sigma_min: float, sigma_max: float, grid: int,
                     n_null: int) -> np.ndarray:
    """Sorted detection statistics (n_null,) of uniformly random masks with k of C*H*W weights (fixed seed)."""
    d = int(np.prod(shape))
    scan = kernel_scan(shape, channels, sigma_min, sigma_max, grid)
    rng = np.random.default_rng([k, *shape, CHANNEL_MODES.index(channels), n_null, 24021])
    stats = []
    for start in range(0, n_null, 256):
        n = min(256, n_null - start)
        r = rng.random((n, d))
        m = r <= np.partition(r, k - 1, axis=1)[:, k - 1:k]
        t1, ss = scan.sums(scan.geo.half_profiles(mask_correlation(m, shape, channels=channels)))
        stats.append(scan.stat(t1, ss, null_weights(m, shape, channels)))
    return np.sort(np.concatenate(stats))


@functools.lru_cache(maxsize=None)
def _null_quantile(k: int, shape: tuple, channels: str, sigma_min: float, sigma_max: float, grid: int,
                   alpha: float, n_null: int) -> float:
    """Threshold for units with k weights: an upper 95 % confidence bound on the (1 - alpha) quantile of the
    detection statistic, from ``n_null`` uniformly random masks with k of C*H*W weights (fixed seed).

    With the plain empirical quantile the Monte-Carlo error of the threshold would push the realised
    false-positive rate above alpha on average (the tail probability is convex in the threshold); the order
    statistic ``ceil(n (1 - alpha) + 1.645 sqrt(n alpha (1 - alpha)))`` keeps it at or below alpha.
    """
    stats = _null_statistics(k, shape, channels, sigma_min, sigma_max, grid, n_null)
    j = int(np.ceil(n_null * (1.0 - alpha) + 1.645 * np.sqrt(n_null * alpha * (1.0 - alpha))))
    return float(stats[min(max(j, 1), n_null) - 1])


def detection_threshold(n_weights, image_shape, channels: str = "same", alpha: float = 0.05,
                        n_null: int = 1000, sigma_min: float = 0.5, sigma_max: float | None = None,
                        grid: int = 12) -> np.ndarray:
    """Threshold on the detection statistic of :func:`impkit.metrics.rf_width_fit` for units with ``n_weights``
    surviving weights.

    The null hypothesis is a mask without spatial structure: the unit's k weights placed uniformly at random among
    the C*H*W inputs. The statistic's (1 - alpha) quantile under it is simulated from ``n_null`` such masks with a
    fixed seed (reproducible) and cached per process: for every k up to 32, and above that on a geometric grid of k
    (ratio 2^(1/4)) with linear interpolation in log k (the statistic is standardised by its exact null standard
    deviation, so its quantile changes slowly with k). k < 2 (no pair) or k = C*H*W (a full mask) give +inf.

    Returns:
        float64 array of the shape of ``np.atleast_1d(n_weights)``.
    """
    c, h, w = shape3(image_shape)
    d = c * h * w
    options = ((c, h, w), channels, float(sigma_min), default_sigma_max(h, w, sigma_max), int(grid), float(alpha),
               int(n_null))
    k_all = np.atleast_1d(np.asarray(n_weights)).astype(np.int64)
    out = np.full(k_all.shape, np.inf)
    for k in np.unique(k_all):
        if k < 2 or k >= d:
            continue
        if k <= _K_EXACT:
            out[k_all == k] = _null_quantile(int(k), *options)
            continue
        k_lo, k_hi = _k_bracket(k, d)
        if k == k_lo or k_hi <= k_lo:
            out[k_all == k] = _null_quantile(int(k), *options)
            continue
        t = (np.log(k) - np.log(k_lo)) / (np.log(k_hi) - np.log(k_lo))
        out[k_all == k] = (1.0 - t) * _null_quantile(k_lo, *options) + t * _null_quantile(k_hi, *options)
    return out
