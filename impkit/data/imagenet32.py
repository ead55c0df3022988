"""ImageNet32 (downsampled ImageNet, Chrabaszcz, Loshchilov & Hutter 2017).

Provenance: the official "Imagenet32x32" files from https://image-net.org/download-images (registration
required; the user supplies their own copy -- nothing is downloaded). Licence: ImageNet terms of access
(non-commercial research and educational use only); the images keep their owners' copyrights.

Formats (both official ones are read):

* npz: ``Imagenet32_train_npz/train_data_batch_{1..10}.npz`` and ``Imagenet32_val_npz/val_data.npz``,
  read with ``np.load(..., allow_pickle=False)``.
* pickle: ``Imagenet32_train/train_data_batch_{1..10}`` and ``Imagenet32_val/val_data``, read with a
  *restricted* unpickler (:class:`RestrictedUnpickler`) that only admits what numpy arrays need; anything
  else (``os.system``, ``builtins.eval``, ...) is refused before it can run.

The files may also sit directly in the data directory. Keys: ``data`` uint8 (N, 3072) = the R plane
(1024 values, row-major), then G, then B, i.e. already CHW-flattened; ``labels`` in 1..1000 (we subtract 1);
``mean`` (3072,) in the training files (the mean image of the full training set).

Normalisation: the official ``(x - mean) / 255``; rows stay uint8 in the Dataset with ``shift = mean`` and
``scale = 255`` and are normalised per minibatch by :meth:`Dataset.normalize`. Memory: batches are read one
at a time and copied into one preallocated uint8 array (peak ~ final uint8 size + one batch); no float copy
of the whole set is ever made here.

Options: ``batches`` (training batches to read, e.g. ``[1, 2]``; default all 10), ``classes`` (int k -> the
first k classes, or a list of 0-based class indices; labels are remapped to 0..k-1 in that order),
``n_train`` / ``n_test`` (keep the first n rows of the split after class filtering; the official batches
are already shuffled), ``format`` ("auto" | "npz" | "pickle"). ``seed`` is accepted and ignored.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from impkit.data import register
from impkit.data._common import candidate_dirs, check_options, check_split, class_subset, remap_labels
from impkit.data.base import DataNotFoundError, Dataset

D = 3 * 32 * 32
NUM_CLASSES = 1000
NUM_BATCHES = 10
OPTIONS = ("batches", "classes", "n_train", "n_test", "format")
# types of the options (impkit.data.check_option_types)
OPTION_TYPES = {"batches": int | list[int] | None, "classes": int | list[int] | None, "n_train": int | None,
                "n_test": int | None, "format": str}

INFO = {
    "provenance": "Imagenet32x32 (Chrabaszcz et al. 2017, arXiv:1707.08819), official files from image-net.org",
    "licence": "ImageNet terms of access: non-commercial research/education only; images (c) their owners",
    "normalisation": "(x - mean)/255 with the training-set mean image stored in the official train files",
}

_LAYOUTS = {
    "npz": {"train": ("Imagenet32_train_npz", "train_data_batch_{i}.npz"), "test": ("Imagenet32_val_npz", "val_data.npz")},
    "pickle": {"train": ("Imagenet32_train", "train_data_batch_{i}"), "test": ("Imagenet32_val", "val_data")},
}


class ImageNet32Error(ValueError):
    """A missing or malformed ImageNet32 file (the message names the file and what was expected)."""


class ImageNet32NotFoundError(DataNotFoundError, ImageNet32Error):
    """No ImageNet32 files in any searched directory."""


class UnsafePickleError(pickle.UnpicklingError, ImageNet32Error):
    """A pickle asked for a global outside the numpy-array allow-list (also an :class:`ImageNet32Error`, so
    callers that report bad data files report this one too, without a traceback)."""


# (module, name) pairs a pickled dict of numpy arrays may reference; everything else is refused.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # protocol-2 pickles written by Python 3 store bytes as _codecs.encode(str, 'latin1')
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only resolves the globals numpy arrays need (see ``_ALLOWED``).

    dicts, lists, strings and numbers need no globals and load normally. Any other global -- the only way a
    pickle can run code -- raises :class:`UnsafePickleError` *before* it is called.
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refused to load global {module}.{name} from a pickle: only numpy arrays, dicts, lists, strings "
            f"and numbers are allowed in ImageNet32 files (file may be corrupt or malicious)"
        )


def restricted_load(path: str | os.PathLike) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler` (latin1 for Python-2 pickles)."""
    with open(path, "rb") as f:
        try:
            return RestrictedUnpickler(f, encoding="latin1").load()
        except UnsafePickleError as e:
            raise UnsafePickleError(f"{path}: {e}; do not use this file: delete it and download the official "
                                    "ImageNet32 files again (the npz layout needs no unpickling)") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
            raise ImageNet32Error(f"{path}: not a readable ImageNet32 pickle ({type(e).__name__}: {e})") from None


def _find_root(root) -> tuple[Path, str]:
    """Directory and format ('npz' or 'pickle') that hold the ImageNet32 files."""
    dirs = candidate_dirs(root, "imagenet32")
    for d in dirs:
        for fmt, layout in _LAYOUTS.items():
            for split in ("train", "test"):
                sub, pat = layout[split]
                name = pat.format(i=1)
                if (d / sub / name).is_file() or (d / name).is_file():
                    return d, fmt
    where = ", ".join(str(d) for d in dirs) or "(no directory given: pass root= or set IMPKIT_DATA)"
    raise ImageNet32NotFoundError(
        "ImageNet32 files not found. Expected Imagenet32_train_npz/train_data_batch_{1..10}.npz and "
        "Imagenet32_val_npz/val_data.npz (or the pickled Imagenet32_train/train_data_batch_{1..10} and "
        f"Imagenet32_val/val_data) in one of: {where}. Download 'Imagenet32x32' from https://image-net.org "
        "(registration required) and pass root=DIR (on the command line: --set data.root=DIR) or set "
        "IMPKIT_DATA=DIR."
    )


def _file(d: Path, fmt: str, split: str, i: int = 1) -> Path:
    sub, pat = _LAYOUTS[fmt][split]
    name = pat.format(i=i)
    return d / sub / name if (d / sub / name).exists() or not (d / name).exists() else d / name


class _Batch:
    """One file, opened lazily; ``labels()`` / ``data()`` / ``mean()`` validate what they return."""

    def __init__(self, path: Path, fmt: str, train: bool):
        self.path, self.fmt, self.train = path, fmt, train
        if not path.is_file():
            raise ImageNet32Error(f"missing ImageNet32 file {path} (expected the official {fmt} file)")
        self._obj: Any = None

    def _open(self) -> Any:
        if self._obj is None:
            if self.fmt == "npz":
                try:
                    self._obj = np.load(self.path, allow_pickle=False)
                except Exception as e:  # noqa: BLE001 - any failure here means a bad file
                    raise ImageNet32Error(f"{self.path}: not a readable .npz file ({e})") from None
                keys = set(self._obj.files)
            else:
                self._obj = restricted_load(self.path)
                if not isinstance(self._obj, dict):
                    raise ImageNet32Error(f"{self.path}: expected a pickled dict, got {type(self._obj).__name__}")
                keys = set(self._obj)
            need = {"data", "labels"} | ({"mean"} if self.train else set())
            if not need <= keys:
                raise ImageNet32Error(
                    f"{self.path}: missing key(s) {sorted(need - keys)}; expected keys {sorted(need)}, found {sorted(keys)}"
                )
        return self._obj

    def close(self) -> None:
        if self.fmt == "npz" and self._obj is not None:
            self._obj.close()
        self._obj = None

    def labels(self) -> np.ndarray:
        raw = self._open()["labels"]
        y = np.asarray(raw)
        if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
            raise ImageNet32Error(
                f"{self.path}: 'labels' must be a 1-D list/array of integers 1..1000, got dtype {y.dtype} shape {y.shape}"
            )
        if y.size and (y.min() < 1 or y.max() > NUM_CLASSES):
            raise ImageNet32Error(
                f"{self.path}: 'labels' out of range: expected 1..{NUM_CLASSES}, found {int(y.min())}..{int(y.max())}"
            )
        return y.astype(np.int64) - 1

    def data(self, n_rows: int) -> np.ndarray:
        x = self._open()["data"]
        if not isinstance(x, np.ndarray) or x.dtype != np.uint8:
            got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise ImageNet32Error(f"{self.path}: 'data' must be a uint8 array, got {got}")
        if x.ndim != 2 or x.shape[1] != D or x.shape[0] != n_rows:
            raise ImageNet32Error(
                f"{self.path}: 'data' must have shape ({n_rows}, {D}) (one row of R,G,B 32x32 planes per label), "
                f"got {x.shape}"
            )
        return x

    def standin(self) -> str | None:
        """The ``standin`` note written by :mod:`impkit.data.standin` (None for real ImageNet32 files)."""
        obj = self._open()
        keys = obj.files if self.fmt == "npz" else obj
        return str(np.asarray(obj["standin"])) if "standin" in keys else None

    def mean(self) -> np.ndarray:
        m = np.asarray(self._open()["mean"])
        if m.shape != (D,) or not np.issubdtype(m.dtype, np.number):
            raise ImageNet32Error(f"{self.path}: 'mean' must be a numeric array of shape ({D},), got {m.dtype} {m.shape}")
        m = m.astype(np.float32)
        if not (np.isfinite(m).all() and 0 <= m.min() and m.max() <= 255):
            raise ImageNet32Error(f"{self.path}: 'mean' must hold pixel means in 0..255")
        return m


@register("imagenet32", seeded=False, options=OPTION_TYPES)
def load_imagenet32(root=None, split: str = "train", seed: int = 0, **options) -> Dataset:
    """ImageNet32 split as uint8 rows (N, 3072), CHW; see the module docstring for files and options."""
    check_options("imagenet32", options, OPTIONS)
    check_split(split)
    batches = options.get("batches")
    fmt_opt = options.get("format", "auto")
    if fmt_opt not in ("auto", "npz", "pickle"):
        raise ValueError(f"imagenet32: format must be 'auto', 'npz' or 'pickle', got {fmt_opt!r}")
    classes = class_subset(options.get("classes"), NUM_CLASSES, "imagenet32")
    n_max = options.get("n_train" if split == "train" else "n_test")

    d, fmt = _find_root(root)
    if fmt_opt != "auto":
        fmt = fmt_opt
    if batches is None:
        batches = list(range(1, NUM_BATCHES + 1))
    elif isinstance(batches, int):
        batches = [batches]
    batches = [int(b) for b in batches]
    if not batches or any(not 1 <= b <= NUM_BATCHES for b in batches) or len(set(batches)) != len(batches):
        raise ValueError(f"imagenet32: batches must be distinct numbers in 1..{NUM_BATCHES}, got {batches!r}")

    # The mean always comes from a training file (the val file has none).
    train_files = [_file(d, fmt, "train", i) for i in batches]
    files = train_files if split == "train" else [_file(d, fmt, "test")]
    for f in files:
        if not f.is_file():
            raise ImageNet32Error(f"missing ImageNet32 file {f} (expected {fmt} files under {d})")

    parts = [_Batch(f, fmt, train=(split == "train")) for f in files]
    if fmt == "npz":
        # npz members load separately: read all labels first, then fill one preallocated uint8 array.
        plans = []
        for b in parts:
            y = b.labels()
            keep, ynew = remap_labels(y, classes, NUM_CLASSES)
            plans.append((b, len(y), keep, ynew))
            b.close()
        total = sum(len(p[3]) for p in plans)
        if n_max is not None:
            total = min(total, int(n_max))
        x = np.empty((total, D), dtype=np.uint8)
        y_out = np.empty(total, dtype=np.int64)
        pos = 0
        for b, n_rows, keep, ynew in plans:
            if pos >= total:
                break
            take = min(len(ynew), total - pos)
            data = b.data(n_rows)
            if take == n_rows:
                x[pos : pos + take] = data
            else:
                idx = np.flatnonzero(keep)[:take]
                np.take(data, idx, axis=0, out=x[pos : pos + take])
            y_out[pos : pos + take] = ynew[:take]
            pos += take
            del data
            b.close()
    else:
        # A pickle must be loaded whole: keep each batch's selected rows, then move them into one array,
        # freeing each chunk as soon as it is copied (peak ~ final size + one batch).
        chunks, ys, total = [], [], 0
        for b in parts:
            if n_max is not None and total >= int(n_max):
                break
            y = b.labels()
            data = b.data(len(y))
            keep, ynew = remap_labels(y, classes, NUM_CLASSES)
            if n_max is not None:
                room = int(n_max) - total
                ynew = ynew[:room]
            sel = data if len(ynew) == len(y) else data[np.flatnonzero(keep)[: len(ynew)]]
            chunks.append(sel)
            ys.append(ynew)
            total += len(ynew)
            del data
            b.close()
        x = np.empty((total, D), dtype=np.uint8)
        pos = 0
        while chunks:
            c = chunks.pop(0)
            x[pos : pos + len(c)] = c
            pos += len(c)
            del c
        y_out = np.concatenate(ys) if ys else np.empty(0, dtype=np.int64)

    mb = _Batch(train_files[0], fmt, train=True)
    mean = mb.mean()
    standin = mb.standin()  # files written by impkit.data.standin say so: never report them as ImageNet32
    mb.close()

    k = NUM_CLASSES if classes is None else len(classes)
    opts = {"batches": batches, "classes": classes, "n_train": options.get("n_train"),
            "n_test": options.get("n_test"), "format": fmt}
    return Dataset(
        x=torch.from_numpy(x),
        y=torch.from_numpy(y_out),
        image_shape=(3, 32, 32),
        num_classes=k,
        name="imagenet32",
        shift=torch.from_numpy(mean),
        scale=255.0,
        info={**INFO, **({"provenance": standin, "licence": "see impkit.data.photos.ATTRIBUTION (bundled photographs)",
                          "standin": True} if standin else {}), "options": opts, "root": str(d), "split": split,
              "files": [str(f) for f in files], "mean_from": str(train_files[0])},
    )


OFFICIAL_ROWS = {"train": 1_281_167, "test": 50_000}


def _selection(options: dict) -> tuple[list[int], list[int] | None]:
    batches = options.get("batches")
    batches = list(range(1, NUM_BATCHES + 1)) if batches is None else ([batches] if isinstance(batches, int) else list(batches))
    return [int(b) for b in batches], class_subset(options.get("classes"), NUM_CLASSES, "imagenet32")


def nominal_rows(split: str, **options) -> int:
    """Rows a split of the official ImageNet32 would have under ``options`` (batches, classes, n_train/n_test),
    assuming balanced classes and equal batches; for planning when the files are not installed."""
    check_split(split)
    batches, classes = _selection(options)
    n = OFFICIAL_ROWS[split] * (len(batches) / NUM_BATCHES if split == "train" else 1.0)
    n = int(round(n * (1.0 if classes is None else len(classes) / NUM_CLASSES)))
    cap = options.get("n_train" if split == "train" else "n_test")
    return n if cap is None else min(n, int(cap))


def count_rows(root=None, split: str = "train", **options) -> int:
    """Rows :func:`load_imagenet32` would return, read from the label arrays only (npz files); pickled files
    would have to be read whole, so for them the official count (:func:`nominal_rows`) is returned.
    Raises :class:`ImageNet32NotFoundError` when no files are installed."""
    check_split(split)
    d, fmt = _find_root(root)
    if options.get("format", "auto") != "auto":
        fmt = options["format"]
    if fmt != "npz":
        return nominal_rows(split, **options)
    batches, classes = _selection(options)
    files = [_file(d, fmt, "train", i) for i in batches] if split == "train" else [_file(d, fmt, "test")]
    n = 0
    for f in files:
        b = _Batch(f, fmt, train=(split == "train"))
        keep, _ = remap_labels(b.labels(), classes, NUM_CLASSES)
        b.close()
        n += int(keep.sum())
    cap = options.get("n_train" if split == "train" else "n_test")
    return n if cap is None else min(n, int(cap))
