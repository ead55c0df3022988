"""Small helpers shared by the loaders: option checking, generators, data directories, class subsets.

Seeds come from :mod:`impkit.seeding`, devices from :mod:`impkit.device`."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

SPLITS = ("train", "test")


def check_options(loader: str, options: dict[str, Any], valid: Iterable[str]) -> None:
    """Raise one ValueError naming the unknown option(s) and listing the valid ones."""
    valid = sorted(valid)
    unknown = sorted(k for k in options if k not in valid)
    if unknown:
        raise ValueError(
            f"{loader}: unknown option(s) {', '.join(map(repr, unknown))}; valid options: {', '.join(valid)}"
        )


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def generator(seed: int, device: torch.device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def candidate_dirs(root: str | os.PathLike | None, subdir: str, system: str | None = None) -> list[Path]:
    """Directories a loader searches, in order: root and root/subdir when ``root`` is given (and nothing else:
    data from another directory than the one asked for would be a silent substitution); otherwise
    $IMPKIT_DATA, $IMPKIT_DATA/subdir, then ``system`` -- unless $IMPKIT_SYSTEM_DATA is ``0``, which hides system
    packages' directories (``make site-check`` builds the site so, as on a machine without them)."""
    if root is not None:
        return [Path(root), Path(root) / subdir]
    out: list[Path] = []
    env = os.environ.get("IMPKIT_DATA")
    if env:
        out += [Path(env), Path(env) / subdir]
    if system and os.environ.get("IMPKIT_SYSTEM_DATA", "1") != "0":
        out.append(Path(system))
    seen: list[Path] = []
    for p in out:
        if p not in seen:
            seen.append(p)
    return seen


def class_subset(classes: Any, num_classes: int, loader: str) -> list[int] | None:
    """Normalise a ``classes`` option: None (all), an int k (first k classes) or a list of 0-based classes."""
    if classes is None:
        return None
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        k = int(classes)
        if not 1 <= k <= num_classes:
            raise ValueError(f"{loader}: classes={k} must be between 1 and {num_classes}")
        return list(range(k))
    try:
        cl = [int(c) for c in classes]
    except TypeError:
        raise ValueError(f"{loader}: classes must be an int k (first k classes) or a list of class indices") from None
    if not cl or len(set(cl)) != len(cl) or min(cl) < 0 or max(cl) >= num_classes:
        raise ValueError(f"{loader}: classes must be distinct indices in 0..{num_classes - 1}, got {classes!r}")
    return cl


def remap_labels(y: np.ndarray, classes: list[int] | None, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask of kept rows, labels remapped to 0..len(classes)-1 in the order of ``classes``)."""
    if classes is None:
        return np.ones(len(y), dtype=bool), y.astype(np.int64)
    lut = np.full(num_classes, -1, dtype=np.int64)
    lut[np.asarray(classes)] = np.arange(len(classes))
    new = lut[y]
    keep = new >= 0
    return keep, new[keep]
