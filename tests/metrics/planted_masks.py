"""Masks with planted local structure, shared by the tests of the mask-correlation measures.

Planted Gaussian masks keep pixel z with probability p(z) = p0 exp(-|z - z0|^2 / 2 sigma_b^2) (+ a background).
"""
import numpy as np
from scipy.signal import correlate


def gauss_p(side, sigma_y, sigma_x, centre, p0=1.0, background=0.0):
    yy, xx = np.mgrid[:side, :side]
    cy, cx = centre
    return p0 * np.exp(-(yy - cy) ** 2 / (2 * sigma_y ** 2) - (xx - cx) ** 2 / (2 * sigma_x ** 2)) + background


def expected_S(p):
    """Exact E S(d) (d != 0) of a mask keeping pixel z independently with probability p(z): sum_z p(z) p(z + d)."""
    return correlate(p, p, mode="full", method="direct")


def blob_masks(rng, n_units, side, sigma, k):
    """Masks of ``k`` weights drawn without replacement with probability ~ a Gaussian blob at a random centre."""
    yy, xx = np.mgrid[0:side, 0:side]
    out = np.zeros((n_units, side * side), dtype=bool)
    for i in range(n_units):
        cy, cx = rng.uniform(4, side - 4, size=2)
        p = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)).ravel()
        out[i, rng.choice(side * side, size=k, replace=False, p=p / p.sum())] = True
    return out
