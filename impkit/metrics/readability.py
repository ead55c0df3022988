"""Local readability: how well the class can be read from one small window of the image.

H′ of the decisive page says IMP localises wherever the class signal can be read by local filters. This measure
makes that checkable on data and clone alike: for every k x k window (all channels) on a grid, a quadratic
discriminant (one Gaussian per class: class mean and covariance of the window's pixels, ridge-regularised) is fitted
on one part of the rows, and classifies the others.

Why quadratic and not linear: in every Gaussian task of the book the classes differ in their *covariance* (the
means are equal), and a linear classifier on a window reads only mean differences, so it would call every such
window unreadable; the Gaussian discriminant is the Bayes rule when the window is Gaussian within each class (the
clones) and reads mean and covariance differences alike on the data.

The rows are split three ways by a seeded permutation: ``fit`` (half) to estimate the class Gaussians,
``select`` (a quarter) to pick the best window, ``score`` (a quarter) to report accuracies, so that picking the
best of many windows does not inflate its accuracy.

:func:`local_readability` returns the primary number ``best`` (score-split accuracy of the window that is best on
the select split) and ``mean`` (mean score-split accuracy over windows), beside ``chance`` (the largest class
share of the score split).
"""
from __future__ import annotations

import numpy as np

RIDGE = 1e-2  # covariance ridge, relative to the mean pixel variance of the window


def window_origins(height: int, width: int, k: int, stride: int | None = None) -> list[tuple[int, int]]:
    """Top-left corners (row, col) of k x k windows on a grid of ``stride`` (default k) covering an image of
    ``height`` x ``width``; the last window of each axis is flush with the edge."""
    if not 1 <= k <= min(height, width):
        raise ValueError(f"local_readability: window side k must be in 1..{min(height, width)}, got {k}")
    s = int(stride or k)
    if s < 1:
        raise ValueError(f"local_readability: stride must be positive, got {stride}")

    def axis(n: int) -> list[int]:
        pos = list(range(0, n - k + 1, s))
        if pos[-1] != n - k:
            pos.append(n - k)
        return pos

    return [(r, c) for r in axis(height) for c in axis(width)]


def _qda_fit(x: np.ndarray, y: np.ndarray, classes: np.ndarray, ridge: float):
    p = x.shape[1]
    scale = float(x.var(0).mean()) or 1.0
    params = []
    for c in classes:
        xc = x[y == c]
        mu = xc.mean(0)
        cov = np.cov(xc, rowvar=False).reshape(p, p) if len(xc) > 1 else np.zeros((p, p))
        cov = cov + ridge * scale * np.eye(p)
        sign, logdet = np.linalg.slogdet(cov)
        params.append((mu, np.linalg.inv(cov), logdet, np.log(len(xc) / len(x))))
    return params


def _qda_predict(params, classes: np.ndarray, x: np.ndarray) -> np.ndarray:
    scores = np.empty((len(x), len(params)))
    for j, (mu, inv, logdet, logprior) in enumerate(params):
        d = x - mu
        scores[:, j] = -0.5 * np.einsum("ij,jk,ik->i", d, inv, d) - 0.5 * logdet + logprior
    return classes[np.argmax(scores, 1)]


def local_readability(x, y, image_shape, k: int = 5, stride: int | None = None, seed: int = 0,
                      max_rows: int | None = 8000, ridge: float = RIDGE) -> dict:
    """Readability of the class from single k x k windows (module docstring).

    ``x``: (N, C*H*W) features (rows CHW-flattened), ``y``: (N,) integer labels, ``image_shape``: (C, H, W);
    ``stride``: window grid (default k: non-overlapping); ``max_rows``: at most this many rows are used (a seeded
    random subset). Returns ``{"best", "mean", "chance", "k", "stride", "n_rows", "windows": [(r, c), ...],
    "acc": [score-split accuracy per window], "select_acc": [...], "best_window": (r, c)}``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).ravel()
    c_, h, w = (int(v) for v in image_shape)
    if x.ndim != 2 or x.shape[1] != c_ * h * w:
        raise ValueError(f"local_readability: x must be (N, {c_ * h * w}) for image shape {tuple(image_shape)}, "
                         f"got {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"local_readability: {len(x)} rows but {len(y)} labels")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(x))
    if max_rows is not None:
        idx = idx[: int(max_rows)]
    n = len(idx)
    if n < 8:
        raise ValueError(f"local_readability: need at least 8 rows, got {n}")
    fit, sel, sco = idx[: n // 2], idx[n // 2: 3 * n // 4], idx[3 * n // 4:]
    classes = np.unique(y[fit])
    img = x.reshape(len(x), c_, h, w)
    origins = window_origins(h, w, k, stride)
    acc, sacc = [], []
    for r, c in origins:
        feats = img[:, :, r:r + k, c:c + k].reshape(len(x), -1)
        params = _qda_fit(feats[fit], y[fit], classes, ridge)
        sacc.append(float((_qda_predict(params, classes, feats[sel]) == y[sel]).mean()))
        acc.append(float((_qda_predict(params, classes, feats[sco]) == y[sco]).mean()))
    best = int(np.argmax(sacc))
    chance = float(np.bincount(y[sco] - y.min()).max() / len(sco))
    return {"best": acc[best], "mean": float(np.mean(acc)), "chance": chance, "k": int(k),
            "stride": int(stride or k), "n_rows": int(n), "windows": origins, "acc": acc, "select_acc": sacc,
            "best_window": origins[best]}
