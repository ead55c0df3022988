"""Summaries of a measure over units (NaN = excluded unit) and over seeds (one curve per seed, NaN = no value)."""
from __future__ import annotations

import numpy as np

__all__ = ["summarize_over_units", "summarize_over_seeds"]


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
