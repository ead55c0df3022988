"""A STAND-IN for ImageNet32, built from the photographs bundled with scikit-image, scikit-learn and matplotlib.

**This is not ImageNet32.** It is a small (or, on request, ImageNet32-sized) labelled set of 32x32 RGB images
written in the two official ImageNet32 file layouts, so that everything impkit does with ImageNet32 -- the
``paper`` preset, its per-channel Gaussian clone, the 1000-class statistics, the notebooks -- can be executed end
to end on a machine without the real files (``make test`` does so). No result obtained on it says anything
about ImageNet32; it proves only that the code path runs at the paper's shapes.

What the images are
    Every image is a 32x32 crop of one of the colour photographs in :mod:`impkit.data.photos` (no download),
    taken from an integer-downsampled copy of the photograph (block mean, factors 2, 3, 4, 6 or 8, whichever leave
    room for a crop), so the pixels have the spatial and colour statistics of real photographs.
Classes
    Class ``c`` (0..K-1, K = 1000 by default) is a fixed *prototype*: a (photograph, downsampling factor, crop
    centre, one of the 8 flips/rotations of the square, one of the 6 orderings of the colour channels) drawn
    at random (seeded) from all such combinations. An image of class ``c`` is its prototype's crop moved by up to
    ``JITTER`` pixels in each direction, with a random contrast gain in [0.8, 1.2] and brightness offset in
    [-12, 12] grey levels. Classes therefore differ in content, scale, orientation and colour and are learnable;
    images of one class overlap strongly but are not identical.
Splits
    ``train`` and ``val`` share the class prototypes (they depend on ``seed`` only) and draw their jitter
    independently (streams derived from (seed, split)). Classes are balanced: counts differ by at most one.
    Rows come in a seeded random order (as the official batches do).
Determinism
    All random numbers are drawn on the CPU with numpy from seeds derived from ``seed``; the pixel arithmetic is
    integer-only. The same seed and sizes give bit-identical images on any device.

:func:`standin_images` is the core (sizes in, ``(x uint8 (N, 3072), y int64 (N,))`` tensors out, on any torch
device, in chunks, so an ImageNet32-sized set of 1,281,167 rows needs little more memory than its own 3.9 GB);
:func:`write_standin` writes the files; ``python -m impkit.data.standin --out DIR`` is the command line.

Files written (both official layouts; see :mod:`impkit.data.imagenet32`): npz
``Imagenet32_train_npz/train_data_batch_{1..10}.npz`` and ``Imagenet32_val_npz/val_data.npz``; pickle
``Imagenet32_train/train_data_batch_{1..10}`` and ``Imagenet32_val/val_data`` (plain dicts of numpy arrays and
lists). Keys: ``data`` uint8 (N, 3072) = R, G, B planes, each 32x32 row-major; ``labels`` 1..K; ``mean``
(3072,) float64 in the train files (the mean image of the whole stand-in training set); and ``standin``, a
string saying what the files are -- :func:`impkit.data.load` reports it as the dataset's provenance. A
``STANDIN.txt`` in the output folder says the same for people.
"""
from __future__ import annotations

import argparse
import functools
import pickle
import time
from pathlib import Path

import numpy as np
import torch

from impkit.seeding import derive_seed

SIDE = 32
D = 3 * SIDE * SIDE
NUM_CLASSES = 1000
NUM_BATCHES = 10
SCALES = (2, 3, 4, 6, 8)  # ImageNet32 images are whole photographs shrunk to 32 px: coarse scales
JITTER = 3  # crop offset per axis, pixels
GAIN = (0.8, 1.2)
OFFSET = (-12, 12)  # grey levels
SPLITS = ("train", "val")
NOTE = ("STAND-IN for ImageNet32, NOT ImageNet32: 32x32 crops of the photographs bundled with scikit-image, "
        "scikit-learn and matplotlib, written by impkit.data.standin (seed {seed}); classes are synthetic "
        "(photograph, scale, position, flip/rotation, colour order) prototypes. For testing code paths only.")

# The 8 symmetries of the square as (transpose, flip rows, flip columns) applied to the crop.
_DIHEDRAL = [(t, fr, fc) for t in (False, True) for fr in (False, True) for fc in (False, True)]
_CHANNEL_ORDERS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


@functools.lru_cache(maxsize=None)
def _sources() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """All (photograph, scale) images usable for a crop, packed into one flat uint8 buffer.

    Returns (buffer, table, names): table rows are (offset, height, width, scale) of each CHW image in the
    buffer; names are "photo@scale".
    """
    from impkit.data import photos

    chunks, rows, names, pos = [], [], [], 0
    need = SIDE + 2 * JITTER
    for name in photos.available_images("rgb"):
        for s in SCALES:
            img = photos._image(name, "rgb", s)  # (3, H, W) uint8, block-mean downsampled, cached
            _, h, w = img.shape
            if min(h, w) < need:
                continue
            chunks.append(np.ascontiguousarray(img).ravel())
            rows.append((pos, h, w, s))
            names.append(f"{name}@{s}")
            pos += img.size
    if not rows:
        raise RuntimeError("standin: no colour photographs available (scikit-image, scikit-learn, matplotlib)")
    return np.concatenate(chunks), np.asarray(rows, dtype=np.int64), tuple(names)


def prototypes(num_classes: int = NUM_CLASSES, seed: int = 0) -> dict[str, np.ndarray]:
    """The class prototypes: per class, source image index, crop top-left (y, x) before jitter, symmetry index
    (0..7) and colour order index (0..5). Depends on ``seed`` and ``num_classes`` only."""
    _, table, _ = _sources()
    rng = np.random.default_rng(derive_seed(seed, "standin", "classes"))
    src = np.resize(rng.permutation(len(table)), num_classes)  # every source used about equally often
    rng.shuffle(src)
    h, w = table[src, 1], table[src, 2]
    top = JITTER + (rng.random(num_classes) * (h - SIDE - 2 * JITTER + 1)).astype(np.int64)
    left = JITTER + (rng.random(num_classes) * (w - SIDE - 2 * JITTER + 1)).astype(np.int64)
    return {"source": src, "top": top, "left": left,
            "symmetry": rng.integers(0, len(_DIHEDRAL), num_classes),
            "colours": rng.integers(0, len(_CHANNEL_ORDERS), num_classes)}


def class_counts(num_classes: int = NUM_CLASSES, per_class: int | None = None, total: int | None = None) -> np.ndarray:
    """Rows per class: ``per_class`` each, or ``total`` spread as evenly as possible (counts differ by <= 1)."""
    if (per_class is None) == (total is None):
        raise ValueError("standin: give exactly one of per_class and total")
    if per_class is not None:
        if int(per_class) < 1:
            raise ValueError(f"standin: per_class must be >= 1, got {per_class}")
        return np.full(num_classes, int(per_class), dtype=np.int64)
    if int(total) < num_classes:
        raise ValueError(f"standin: total={total} must be at least the number of classes ({num_classes})")
    base, extra = divmod(int(total), num_classes)
    return base + (np.arange(num_classes) < extra).astype(np.int64)


def _grid(sym: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) offsets (SIDE, SIDE) inside the crop that output pixel (i, j) reads, for symmetry ``sym``."""
    t, fr, fc = _DIHEDRAL[sym]
    i, j = np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")
    if t:
        i, j = j, i
    if fr:
        i = SIDE - 1 - i
    if fc:
        j = SIDE - 1 - j
    return i, j


def standin_images(per_class: int | None = None, total: int | None = None, split: str = "train", seed: int = 0,
                   num_classes: int = NUM_CLASSES, device: str | torch.device = "cpu",
                   chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images of the ImageNet32 STAND-IN (see the module docstring; this is not ImageNet32).

    Args:
        per_class / total: rows per class, or the total number of rows spread evenly over the classes
            (ImageNet32-sized: ``total=1_281_167`` for train, ``50_000`` for val).
        split: "train" or "val" (independent jitter, shared class prototypes).
        seed: fixes the class prototypes and, with ``split``, every image.
        device: where ``x`` and ``y`` are built and returned (e.g. "cuda" for ImageNet32-sized sets).
        chunk: rows built at once (default 8192 on CPU, 131072 on a GPU); only memory, never values, depend on it.

    Returns:
        ``x`` uint8 (N, 3072), rows = R, G, B planes of 32x32 each (row-major), and ``y`` int64 (N,) labels
        0..num_classes-1, in a seeded random order.
    """
    if split not in SPLITS:
        raise ValueError(f"standin: split must be 'train' or 'val', got {split!r}")
    dev = torch.device(device)
    counts = class_counts(num_classes, per_class, total)
    n = int(counts.sum())
    proto = prototypes(num_classes, seed)
    buf, table, _ = _sources()

    # Per-row random numbers on the CPU (device-independent), then small per-row tensors on the device.
    rng = np.random.default_rng(derive_seed(seed, "standin", split))
    y = rng.permutation(np.repeat(np.arange(num_classes, dtype=np.int64), counts))
    dy = rng.integers(-JITTER, JITTER + 1, n)
    dx = rng.integers(-JITTER, JITTER + 1, n)
    gain = rng.integers(int(GAIN[0] * 256), int(GAIN[1] * 256) + 1, n)  # contrast, in 1/256
    offset = rng.integers(OFFSET[0] * 256, OFFSET[1] * 256 + 1, n)  # brightness, in 1/256 grey levels

    src = proto["source"][y]
    off, h, w = table[src, 0], table[src, 1], table[src, 2]
    top, left = proto["top"][y] + dy, proto["left"][y] + dx
    grids = np.stack([np.stack(_grid(s)) for s in range(len(_DIHEDRAL))])  # (8, 2, SIDE, SIDE)
    orders = np.asarray(_CHANNEL_ORDERS, dtype=np.int64)  # (6, 3)

    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), device=dev)  # noqa: E731
    buf_t = torch.as_tensor(buf, device=dev)
    grid_t = t(grids.astype(np.int64))
    order_t = t(orders)
    sym_t, col_t = t(proto["symmetry"]), t(proto["colours"])
    y_t = t(y)
    per_row = {k: t(v) for k, v in (("off", off), ("h", h), ("w", w), ("top", top), ("left", left),
                                     ("gain", gain), ("offset", offset))}
    x = torch.empty((n, D), dtype=torch.uint8, device=dev)
    chunk = int(chunk or (131072 if dev.type == "cuda" else 8192))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        r = {k: v[a:b] for k, v in per_row.items()}
        yc = y_t[a:b]
        g = grid_t[sym_t[yc]]  # (m, 2, SIDE, SIDE) offsets inside the crop
        rows = r["top"][:, None, None] + g[:, 0]
        cols = r["left"][:, None, None] + g[:, 1]
        chan = order_t[col_t[yc]]  # (m, 3): which source channel feeds output channel 0, 1, 2
        hw = (r["h"] * r["w"])[:, None, None, None]
        idx = (r["off"][:, None, None, None] + chan[:, :, None, None] * hw
               + (rows * r["w"][:, None, None])[:, None] + cols[:, None])  # (m, 3, SIDE, SIDE)
        v = buf_t[idx.reshape(b - a, D)].to(torch.int32)
        v = (v * r["gain"][:, None].to(torch.int32) + r["offset"][:, None].to(torch.int32) + 128) >> 8
        x[a:b] = v.clamp_(0, 255).to(torch.uint8)
        del idx, v, g, rows, cols
    return x, y_t


def _note(seed: int) -> str:
    return NOTE.format(seed=seed)


def write_standin(out: str | Path, per_class_train: int = 20, per_class_val: int = 10, seed: int = 0,
                  formats=("npz", "pickle"), device: str = "cpu", n_train: int | None = None,
                  n_val: int | None = None, num_classes: int = NUM_CLASSES) -> dict:
    """Write the ImageNet32 STAND-IN under ``out`` in the official layouts ``formats`` ("npz", "pickle").

    ``n_train`` / ``n_val`` (totals) replace the per-class counts when given. The training rows are split into
    10 batch files in order (batch 10 takes the remainder); every train file carries the mean image of the whole
    training set. Returns a summary dict (rows, files, seconds).
    """
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    bad = [f for f in formats if f not in ("npz", "pickle")]
    if bad or not formats:
        raise ValueError(f"standin: formats must be 'npz' and/or 'pickle', got {formats!r}")
    out = Path(out)
    t0 = time.perf_counter()
    xt, yt = standin_images(None if n_train else per_class_train, n_train, "train", seed, num_classes, device)
    xv, yv = standin_images(None if n_val else per_class_val, n_val, "val", seed, num_classes, device)
    mean = torch.zeros(D, dtype=torch.float64, device=xt.device)
    for a in range(0, len(xt), 65536):
        mean += xt[a:a + 65536].sum(0, dtype=torch.float64)
    mean = (mean / len(xt)).cpu().numpy()
    xt, yt, xv, yv = xt.cpu().numpy(), yt.cpu().numpy() + 1, xv.cpu().numpy(), yv.cpu().numpy() + 1
    t_gen = time.perf_counter() - t0
    note = _note(seed)
    bounds = np.linspace(0, len(xt), NUM_BATCHES + 1).astype(np.int64)
    files = []
    for fmt in formats:
        tdir = out / ("Imagenet32_train_npz" if fmt == "npz" else "Imagenet32_train")
        vdir = out / ("Imagenet32_val_npz" if fmt == "npz" else "Imagenet32_val")
        tdir.mkdir(parents=True, exist_ok=True)
        vdir.mkdir(parents=True, exist_ok=True)
        parts = [(tdir / f"train_data_batch_{i + 1}", xt[bounds[i]:bounds[i + 1]], yt[bounds[i]:bounds[i + 1]], True)
                 for i in range(NUM_BATCHES)] + [(vdir / "val_data", xv, yv, False)]
        for path, xb, yb, train in parts:
            if fmt == "npz":
                arrays = {"data": xb, "labels": yb, "standin": np.array(note)}
                if train:
                    arrays["mean"] = mean
                path = path.with_suffix(".npz")
                np.savez(path, **arrays)
            else:
                obj = {"data": xb, "labels": yb.tolist(), "standin": note}  # labels a list, as in the originals
                if train:
                    obj["mean"] = mean
                with open(path, "wb") as f:
                    pickle.dump(obj, f, protocol=4)
            files.append(str(path))
    (out / "STANDIN.txt").write_text(
        note + f"\ntrain rows {len(xt)}, val rows {len(xv)}, classes {num_classes}, formats {', '.join(formats)}.\n"
        "Regenerate with: python -m impkit.data.standin --out DIR (see impkit/data/standin.py).\n")
    return {"out": str(out), "train_rows": int(len(xt)), "val_rows": int(len(xv)), "classes": num_classes,
            "formats": list(formats), "files": files, "generate_s": t_gen, "total_s": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m impkit.data.standin",
        description="Write a small STAND-IN for ImageNet32 (crops of bundled photographs, NOT ImageNet32) in the "
                    "official npz and/or pickle layouts, for running the paper preset's code paths without the "
                    "real data. Point IMPKIT_DATA (or root=) at --out to use it.")
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--per-class-train", type=int, default=20, help="training images per class (default 20)")
    ap.add_argument("--per-class-val", type=int, default=10, help="validation images per class (default 10)")
    ap.add_argument("--n-train", type=int, default=None, help="total training images instead (e.g. 1281167)")
    ap.add_argument("--n-val", type=int, default=None, help="total validation images instead (e.g. 50000)")
    ap.add_argument("--format", choices=("npz", "pickle", "both"), default="both")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="torch device that builds the images (cpu, cuda)")
    a = ap.parse_args(argv)
    fmts = ("npz", "pickle") if a.format == "both" else (a.format,)
    s = write_standin(a.out, a.per_class_train, a.per_class_val, a.seed, fmts, a.device, a.n_train, a.n_val)
    print(f"wrote ImageNet32 STAND-IN (not ImageNet32) to {s['out']}: {s['train_rows']} train / {s['val_rows']} val "
          f"rows, {s['classes']} classes, {'+'.join(s['formats'])}; images {s['generate_s']:.1f} s, "
          f"total {s['total_s']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
