"""Conventions shared by the measures: mask layout, image shapes, the colour convention, array inputs.

* **Arrays.** Masks (and the other array inputs of the numpy-based measures) may be numpy arrays or torch tensors
  on any device; :func:`as_numpy` brings them to the CPU.
* **Layout.** A mask row is a CHW-flattened image (all of channel 0 row-major, then channel 1, ...).
* **Image shape.** ``(C, H, W)``, or ``(H, W)`` for one channel.
* **Colour.** A displacement d = (dy, dx) pairs pixel z with pixel z + d; with C > 1 channels the ``channels``
  argument says which channel pairs count. ``"same"`` (default) sums the same-channel pairs over channels;
  ``"cross"`` sums the pairs of *different* channels (P&B's cross-channel part); ``"all"`` = same + cross
  (autocorrelation of the channel-summed mask); ``"any"`` first merges channels (a pixel survives if any
  channel does) and correlates that single-channel mask.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["CHANNEL_MODES", "as_numpy", "shape3", "channel_pair_multiplicity"]

CHANNEL_MODES = ("same", "cross", "all", "any")


def as_numpy(a) -> np.ndarray:
    """A numpy view or copy of an array or a (detached, CPU) tensor."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def shape3(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """``(C, H, W)`` of an image shape given as (C, H, W) or (H, W)."""
    s = tuple(int(v) for v in image_shape)
    if len(s) == 2:
        return (1, s[0], s[1])
    if len(s) != 3:
        raise ValueError(f"image_shape must be (C, H, W) or (H, W), got {image_shape}")
    return s  # type: ignore[return-value]


def channel_pair_multiplicity(c: int, channels: str) -> int:
    """Channel pairs per pixel pair under the colour convention: C ("same"), C(C-1) ("cross"), C^2 ("all"), 1
    ("any"). Raises ValueError for an unknown convention."""
    if channels == "same":
        return c
    if channels == "cross":
        return c * (c - 1)
    if channels == "all":
        return c * c
    if channels == "any":
        return 1
    raise ValueError(f"channels must be one of {CHANNEL_MODES}, got {channels!r}")
