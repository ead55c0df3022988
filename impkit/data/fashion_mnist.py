"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 train / 10,000 test 28x28 grey images, 10 classes.

Provenance: Zalando Research, https://github.com/zalandoresearch/fashion-mnist; on Debian/Ubuntu the package
``dataset-fashion-mnist`` installs the four IDX files under ``/usr/share/datasets/fashion-mnist/``.
Licence: MIT (Copyright (c) 2017 Zalando SE).

Files: ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
``t10k-labels-idx1-ubyte.gz`` (uncompressed files without ``.gz`` also work), searched in ``root`` and
``root/fashion-mnist`` when ``root`` is given (only there), else in ``$IMPKIT_DATA``, ``$IMPKIT_DATA/fashion-mnist``
and ``/usr/share/datasets/fashion-mnist``. Nothing is downloaded.

Normalisation: uint8 rows with ``scale = 255`` (features in [0, 1]); with ``center=True`` also
``shift`` = the per-pixel mean of the full training set (so features are centred per pixel, /255).
Options: ``n_train`` / ``n_test`` (first n rows of the split, after class filtering), ``classes``
(int k -> first k classes, or a list; labels remapped to 0..k-1 in that order), ``center`` (default False).
``seed`` is accepted and ignored.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from impkit.data import register
from impkit.data._common import candidate_dirs, check_options, check_split, class_subset, remap_labels
from impkit.data.base import DataNotFoundError, Dataset

SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
OPTIONS = ("n_train", "n_test", "classes", "center")
# types of the options (impkit.data.check_option_types)
OPTION_TYPES = {"n_train": int | None, "n_test": int | None, "classes": int | list[int] | None, "center": bool}
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class IDXError(ValueError):
    """A malformed IDX file."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed if it ends in .gz) holding unsigned bytes (type code 0x08)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise IDXError(f"{path}: expected unsigned-byte data (type 0x08), got type 0x{raw[2]:02x}")
    nd = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(nd))
    start = 4 + 4 * nd
    need = int(np.prod(dims)) if dims else 0
    if len(raw) - start != need:
        raise IDXError(f"{path}: header says shape {dims} ({need} bytes) but {len(raw) - start} bytes follow")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(dims).copy()


def find_dir(root=None) -> Path:
    dirs = candidate_dirs(root, "fashion-mnist", SYSTEM_DIR)
    names = [n for pair in FILES.values() for n in pair]
    for d in dirs:
        if all((d / f"{n}.gz").is_file() or (d / n).is_file() for n in names):
            return d
    raise DataNotFoundError(
        "Fashion-MNIST not found: expected " + ", ".join(f"{n}.gz" for n in names) + " in one of: "
        + ", ".join(str(d) for d in dirs)
        + ". Install them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu, files go to "
        f"{SYSTEM_DIR}) or put them in a directory and set IMPKIT_DATA=DIR (or pass root=DIR; on the command line "
        "--set data.root=DIR)."
    )


def _pair(d: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for n in FILES[split]:
        p = d / f"{n}.gz"
        out.append(read_idx(p if p.is_file() else d / n))
    x, y = out
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise IDXError(f"{d / FILES[split][0]}: expected images of shape (N, 28, 28), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise IDXError(f"{d / FILES[split][1]}: expected {x.shape[0]} labels, got shape {y.shape}")
    if y.size and y.max() > 9:
        raise IDXError(f"{d / FILES[split][1]}: labels must be 0..9, found {int(y.max())}")
    return x.reshape(len(x), -1), y.astype(np.int64)


@register("fashion-mnist", seeded=False, options=OPTION_TYPES)
def load_fashion_mnist(root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """Fashion-MNIST split as uint8 rows (N, 784); see the module docstring."""
    check_options("fashion-mnist", options, OPTIONS)
    check_split(split)
    classes = class_subset(options.get("classes"), 10, "fashion-mnist")
    d = find_dir(root)
    x, y = _pair(d, split)
    keep, y = remap_labels(y, classes, 10)
    x = x[keep]
    n_max = options.get("n_train" if split == "train" else "n_test")
    if n_max is not None:
        x, y = x[: int(n_max)], y[: int(n_max)]
    shift = None
    if options.get("center", False):
        xt = x if split == "train" and classes is None and n_max is None else _pair(d, "train")[0]
        shift = torch.from_numpy(xt.mean(0, dtype=np.float64).astype(np.float32))
    return Dataset(
        x=torch.from_numpy(np.ascontiguousarray(x)), y=torch.from_numpy(y), image_shape=(1, 28, 28),
        num_classes=10 if classes is None else len(classes), name="fashion-mnist", shift=shift, scale=255.0,
        info={"provenance": "Fashion-MNIST, Zalando Research (Xiao et al. 2017, arXiv:1708.07747)",
              "licence": "MIT (c) 2017 Zalando SE", "root": str(d), "split": split,
              "normalisation": "x/255" + (" minus the per-pixel training mean/255" if shift is not None else ""),
              "options": {k: options.get(k) for k in OPTIONS},
              "class_names": [CLASS_NAMES[c] for c in (classes if classes is not None else range(10))]},
    )
