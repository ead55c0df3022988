"""The one data container every loader returns.

A :class:`Dataset` holds a whole split as a single tensor, kept in its storage dtype
(uint8 for real images, float32 for generated data) until the training loop
normalises minibatches on the fly: ``features = (x - shift) / scale``.
Rows are flattened images in CHW order (all of channel 0 row-major, then channel 1, ...),
which is what the locality metrics assume via ``image_shape``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch


class DataNotFoundError(FileNotFoundError):
    """A dataset's files are not installed where impkit looks (the message says where and how to get them)."""


@dataclass
class Dataset:
    """A labelled split.

    Attributes:
        x: (N, D) uint8 or float32 rows, CHW-flattened images.
        y: (N,) int64 labels in 0..num_classes-1.
        image_shape: (C, H, W) with C*H*W == D.
        num_classes: number of classes K.
        name: registry name (e.g. ``"nlgp"``, ``"imagenet32-clone"``).
        shift: optional (D,) float32 subtracted before scaling (e.g. the ImageNet32 mean).
        scale: divisor applied after the shift (e.g. 255 for ImageNet32).
        info: provenance, licence, normalisation and the options used.
    """

    x: torch.Tensor
    y: torch.Tensor
    image_shape: tuple[int, int, int]
    num_classes: int
    name: str
    shift: torch.Tensor | None = None
    scale: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.x.ndim != 2:
            raise ValueError(f"Dataset {self.name!r}: x must be (N, D), got shape {tuple(self.x.shape)}")
        c, h, w = self.image_shape
        if c * h * w != self.x.shape[1]:
            raise ValueError(
                f"Dataset {self.name!r}: image_shape {self.image_shape} has {c*h*w} pixels "
                f"but rows have D={self.x.shape[1]}"
            )
        if self.y.shape != (self.x.shape[0],):
            raise ValueError(f"Dataset {self.name!r}: y must be ({self.x.shape[0]},), got {tuple(self.y.shape)}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def dim(self) -> int:
        """Input dimension D = C*H*W."""
        return int(self.x.shape[1])

    @property
    def device(self) -> torch.device:
        return self.x.device

    def normalize(self, xb: torch.Tensor) -> torch.Tensor:
        """Map raw rows ``xb`` (n, D) of this dataset's dtype to float32 features."""
        out = xb.to(torch.float32)
        if self.shift is not None:
            out = out - self.shift.to(out.device)
        if self.scale != 1.0:
            out = out / self.scale
        return out

    def features(self, idx: torch.Tensor | slice | None = None) -> torch.Tensor:
        """Float32 features (n, D) of the selected rows (all rows when ``idx`` is None)."""
        xb = self.x if idx is None else self.x[idx]
        return self.normalize(xb)

    def to(self, device: torch.device | str) -> "Dataset":
        """A copy on ``device`` (storage dtype kept, so uint8 data stays uint8)."""
        shift = None if self.shift is None else self.shift.to(device)
        return replace(self, x=self.x.to(device), y=self.y.to(device), shift=shift)

    def subset(self, idx: torch.Tensor) -> "Dataset":
        """Rows ``idx`` as a new Dataset sharing shift/scale/info."""
        return replace(self, x=self.x[idx], y=self.y[idx])
