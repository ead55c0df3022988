"""Fashion-MNIST translated: every row a seeded random cyclic shift (and horizontal flip) of a Fashion-MNIST item.

Provenance: Fashion-MNIST (:mod:`impkit.data.fashion_mnist`; Debian package ``dataset-fashion-mnist``), transformed
here; nothing else is read. Licence: MIT (c) 2017 Zalando SE, as the items.

Row i of a split is item j_i of the same Fashion-MNIST split (drawn uniformly with replacement), rolled by
(dy_i, dx_i) uniform on {0..27}^2 (cyclic: what leaves one edge re-enters at the other) and, with ``flip`` (the
default), mirrored left-right with probability 1/2. Everything is drawn from a generator seeded by (seed, split)
and materialised, so a run's rows are fixed. Over the random shift every class's distribution is stationary on the
28 x 28 torus: its mean is flat (a constant per class, up to sampling noise) and its covariance depends only on the
displacement. The class signal left is what a *translated* garment carries: its spectrum and everything beyond.

The Gaussian clone ``fashion-mnist-translated-clone`` is the exact stationary Gaussian of each class: mean the
class's spatially averaged mean mu_c (a constant image), covariance the circulant matrix whose eigenvalues are the
class's shift-averaged power spectrum lambda_c(k) = mean over rows of |FFT2(x - mu_c)(k)|^2 / D (D = 784); sampled
as mu_c + Re IFFT2(sqrt(lambda_c) * FFT2(w)), w ~ N(0, I_D). It keeps each class's spectrum (= its stationary
covariance) and nothing else. It is fitted on the training split, as every clone.

Normalisation: uint8 rows with scale 255 (features in [0, 1]) for the data; the clone's features are float32 in
that normalised space (shift None, scale 1).

Options: ``n_train`` (default 20000), ``n_test`` (default 5000), ``flip`` (default True), ``root``-style search of
the Fashion-MNIST files as :func:`impkit.data.fashion_mnist.find_dir`; ``seed`` (the run's) seeds the draws.
"""
from __future__ import annotations

import numpy as np
import torch

from impkit.data import register
from impkit.data._common import check_options, check_split
from impkit.data.base import Dataset
from impkit.seeding import derive_seed

NAME = "fashion-mnist-translated"
SIDE = 28
OPTIONS = ("n_train", "n_test", "flip")
OPTION_TYPES = {"n_train": int, "n_test": int, "flip": bool}
DEFAULTS = {"n_train": 20000, "n_test": 5000, "flip": True}


def _check(options: dict, who: str) -> dict:
    check_options(who, options, OPTIONS)
    opts = {**DEFAULTS, **options}
    for k in ("n_train", "n_test"):
        if int(opts[k]) < 1:
            raise ValueError(f"data.options.{k}: must be a positive number of rows, got {opts[k]!r}")
    return opts


def translate(images: np.ndarray, labels: np.ndarray, n: int, seed: int, flip: bool = True
              ) -> tuple[np.ndarray, np.ndarray, dict]:
    """``n`` rows drawn from ``images`` (N, H, W) with their ``labels`` (N,): item, cyclic shift and (``flip``)
    mirror drawn by ``numpy.random.default_rng(seed)``. Returns (n, H*W) rows of ``images``' dtype, (n,) labels and
    the draws ``{"item", "dy", "dx", "flip"}`` (each (n,))."""
    rng = np.random.default_rng(int(seed))
    _, h, w = images.shape
    item = rng.integers(0, len(images), n)
    dy, dx = rng.integers(0, h, n), rng.integers(0, w, n)
    fl = rng.random(n) < 0.5 if flip else np.zeros(n, bool)
    out = np.empty((n, h, w), images.dtype)
    rows, cols = np.arange(h), np.arange(w)
    for i in range(n):  # a gather per row: ((r - dy) mod h, (c - dx) mod w) is np.roll by (dy, dx)
        img = images[item[i]]
        if fl[i]:
            img = img[:, ::-1]
        out[i] = img[np.ix_((rows - dy[i]) % h, (cols - dx[i]) % w)]
    return out.reshape(n, -1), labels[item].astype(np.int64), {"item": item, "dy": dy, "dx": dx, "flip": fl}


@register(NAME, options=OPTION_TYPES)
def load_translated(root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """Split ``split`` of the translated Fashion-MNIST: (n, 784) uint8 rows, scale 255 (module docstring)."""
    from impkit.data.fashion_mnist import CLASS_NAMES, _pair, find_dir

    check_split(split)
    opts = _check(options, NAME)
    d = find_dir(root)
    x, y = _pair(d, split)
    n = int(opts["n_train" if split == "train" else "n_test"])
    xt, yt, _ = translate(x.reshape(-1, SIDE, SIDE), y, n, derive_seed(seed, NAME, split), bool(opts["flip"]))
    return Dataset(x=torch.from_numpy(np.ascontiguousarray(xt)), y=torch.from_numpy(yt), image_shape=(1, SIDE, SIDE),
                   num_classes=10, name=NAME, shift=None, scale=255.0,
                   info={"provenance": "Fashion-MNIST (Xiao et al. 2017), seeded random cyclic shifts"
                                       + (" and left-right flips" if opts["flip"] else "") + " of its items",
                         "licence": "MIT (c) 2017 Zalando SE", "root": str(d), "split": split,
                         "normalisation": "x/255", "options": {k: opts[k] for k in OPTIONS},
                         "class_names": list(CLASS_NAMES)})


def class_spectra(x: torch.Tensor | np.ndarray, y, num_classes: int, side: int = SIDE
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class c: the spatially averaged mean mu_c (K,), the shift-averaged power spectrum lambda_c (K, side, side)
    = mean over the class's rows of |FFT2(x - mu_c)|^2 / side^2, and the row counts (K,). ``x``: (N, side^2)
    normalised features, ``y``: (N,) labels."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, side, side)
    y = np.asarray(y)
    mu, lam, n = np.zeros(num_classes), np.zeros((num_classes, side, side)), np.zeros(num_classes, np.int64)
    for c in range(num_classes):
        xc = x[y == c]
        n[c] = len(xc)
        if not len(xc):
            continue
        mu[c] = xc.mean()
        lam[c] = (np.abs(np.fft.fft2(xc - mu[c])) ** 2).mean(0) / side**2
    return mu, lam, n


def stationary_clone(ds: Dataset, labels: torch.Tensor, seed: int) -> Dataset:
    """The exact stationary Gaussian clone of ``ds`` (module docstring): one row per entry of ``labels`` (n,);
    (n, side^2) float32 features, shift None, scale 1."""
    side = ds.image_shape[-1]
    mu, lam, counts = class_spectra(ds.features().cpu().numpy(), ds.y.cpu().numpy(), ds.num_classes, side)
    labels = torch.as_tensor(labels, dtype=torch.int64).cpu()
    missing = sorted({int(c) for c in labels.unique()} - {c for c in range(ds.num_classes) if counts[c] > 1})
    if missing:
        raise ValueError(f"{ds.name}-clone: no training rows of class(es) {missing} to fit")
    g = torch.Generator().manual_seed(int(seed))
    out = torch.empty(len(labels), side * side, dtype=torch.float32)
    for c in range(ds.num_classes):
        rows = torch.nonzero(labels == c).flatten()
        if not len(rows):
            continue
        w = torch.randn(len(rows), side, side, generator=g, dtype=torch.float64)
        sq = torch.from_numpy(np.sqrt(np.clip(lam[c], 0, None)))
        z = torch.fft.ifft2(sq * torch.fft.fft2(w)).real
        out[rows] = (mu[c] + z).reshape(len(rows), -1).float()
    info = {**ds.info, "clone_of": ds.name,
            "clone": {"seed": seed, "method": "stationary Gaussian per class from the shift-averaged power spectrum "
                                              "(FFT sampling)", "n": len(labels)},
            "normalisation": "float32 features in the base data's normalised space (shift None, scale 1)"}
    return Dataset(x=out, y=labels.clone(), image_shape=ds.image_shape, num_classes=ds.num_classes,
                   name=f"{ds.name}-clone", shift=None, scale=1.0, info=info)


@register(NAME + "-clone", options=OPTION_TYPES)
def load_translated_clone(root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """The stationary Gaussian clone of :func:`load_translated`: fitted on its train split, as many rows and the
    same labels as ``split`` (module docstring)."""
    check_split(split)
    _check(options, NAME + "-clone")
    base = load_translated(root=root, split="train", seed=seed, **options)
    labels = base.y if split == "train" else load_translated(root=root, split="test", seed=seed, **options).y
    ds = stationary_clone(base, labels, derive_seed(seed, "clone", NAME, split))
    ds.info["split"] = split
    return ds
