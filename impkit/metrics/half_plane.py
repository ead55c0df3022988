"""The independent half plane of displacements, on which the RF-width detection and fit work.

S(d) = S(-d) for every mask, and S(0) only counts the surviving weights, so the RF-width analysis uses each pair of
displacements {d, -d} once and leaves d = 0 out: rows dy = 0..H-1, columns dx = -(W-1)..W-1, without
(dy = 0, dx <= 0).
"""
from __future__ import annotations

import numpy as np

from impkit.metrics.conventions import channel_pair_multiplicity, shape3

__all__ = ["HalfPlane"]


class HalfPlane:
    """Displacements and full-mask pair counts of one image shape and colour convention, on the half plane.

    Attributes:
        c, h, w: the image shape; channels: the colour convention; nc: channel pairs per pixel pair (float).
        dy (H,), dx (2W-1,): the displacements of the rows and columns; wy = H - dy, wx = W - |dx|.
        half: (H, 2W-1) 0/1 mask of the half plane (0 on d = 0 and the mirror half of the dy = 0 row).
        n_pairs: (H, 2W-1) N(d) = nc wy wx on the half plane, zero elsewhere; sum_n: its sum.
        log_n: log N(d) on the half plane, zero elsewhere.
        n_disp: number of displacements in the half plane, ((2H-1)(2W-1) - 1) / 2.
    """

    def __init__(self, image_shape, channels: str):
        c, h, w = shape3(image_shape)
        self.c, self.h, self.w = c, h, w
        self.channels = channels
        self.nc = float(channel_pair_multiplicity(c, channels))
        self.dy = np.arange(h, dtype=np.float64)
        self.dx = np.arange(-(w - 1), w, dtype=np.float64)
        self.wy = h - self.dy
        self.wx = w - np.abs(self.dx)
        self.half = np.ones((h, 2 * w - 1))
        self.half[0, :w] = 0.0
        self.n_pairs = self.nc * np.outer(self.wy, self.wx) * self.half
        self.sum_n = float(self.n_pairs.sum())
        self.n_disp = ((2 * h - 1) * (2 * w - 1) - 1) // 2
        with np.errstate(divide="ignore"):
            self.log_n = np.where(self.half > 0, np.log(np.maximum(self.n_pairs, 1e-300)), 0.0)

    def half_profiles(self, s: np.ndarray) -> np.ndarray:
        """(U, 2H-1, 2W-1) full-plane S -> (U, H, 2W-1) half plane, zero off it (float64 copy)."""
        return np.asarray(s, dtype=np.float64)[:, self.h - 1:, :] * self.half

    def hsum(self, fy: np.ndarray, fx: np.ndarray) -> np.ndarray:
        """Sum over the half plane of fy(dy) fx(dx); fy (..., H), fx (..., 2W-1), leading dims broadcast."""
        return fy[..., 1:].sum(-1) * fx.sum(-1) + fy[..., 0] * fx[..., self.w:].sum(-1)
