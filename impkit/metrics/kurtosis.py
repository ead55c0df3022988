"""Kurtosis (paper Eq. 3) and the first-layer preactivation kurtosis, over all inputs and per class (Fig 4B).

``kurt[x] = E[(x - Ex)^4] / (E[(x - Ex)^2])^2`` (plain, not excess: a Gaussian gives 3, uniform 1.8, Laplace 6).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch

__all__ = ["kurtosis", "preactivation_kurtosis", "PreactKurtosis", "KurtosisAccumulator"]


def kurtosis(values, dim: int = 0):
    """Plain kurtosis along ``dim`` (Gaussian = 3). Torch in -> torch out (computed in float64), else numpy."""
    if isinstance(values, torch.Tensor):
        x = values.to(torch.float64)
        xc = x - x.mean(dim=dim, keepdim=True)
        m2 = (xc * xc).mean(dim=dim)
        m4 = (xc ** 4).mean(dim=dim)
        return m4 / (m2 * m2)
    x = np.asarray(values, dtype=np.float64)
    xc = x - x.mean(axis=dim, keepdims=True)
    m2 = (xc * xc).mean(axis=dim)
    m4 = (xc ** 4).mean(axis=dim)
    with np.errstate(divide="ignore", invalid="ignore"):
        return m4 / (m2 * m2)


class KurtosisAccumulator:
    """Running per-unit (and per-group) raw moments in float64, for kurtosis over data seen in batches.

    Each unit is shifted by a reference value (its mean on the first batch) before the powers are summed, so the
    conversion from raw to central moments does not lose precision when |mean| >> std.
    """

    def __init__(self, n_groups: int = 0):
        self.n_groups = n_groups
        self.ref = None
        self.sums = None  # (5, H): count-free sums of 1, z, z^2, z^3, z^4
        self.gsums = None  # (G, 5, H)

    def update(self, lam: torch.Tensor, groups: torch.Tensor | None = None) -> None:
        """lam: (B, H) preactivations of a batch; groups: (B,) int64 in 0..n_groups-1 (optional)."""
        lam = lam.detach().to(torch.float64)
        if self.ref is None:
            self.ref = lam.mean(0)
            h = lam.shape[1]
            self.sums = torch.zeros(5, h, dtype=torch.float64, device=lam.device)
            if self.n_groups:
                self.gsums = torch.zeros(self.n_groups, 5, h, dtype=torch.float64, device=lam.device)
        z = lam - self.ref
        pw = torch.empty(lam.shape[0], 4, lam.shape[1], dtype=torch.float64, device=lam.device)  # z, z^2, z^3, z^4
        pw[:, 0] = z
        torch.mul(z, z, out=pw[:, 1])
        torch.mul(pw[:, 1], z, out=pw[:, 2])
        torch.mul(pw[:, 1], pw[:, 1], out=pw[:, 3])
        self.sums[0] += lam.shape[0]
        self.sums[1:] += pw.sum(0)
        if self.n_groups and groups is not None:
            g = groups.to(lam.device).long()
            self.gsums[:, 0] += torch.bincount(g, minlength=self.n_groups).to(torch.float64)[:, None]
            self.gsums[:, 1:].index_add_(0, g, pw)

    @staticmethod
    def _kurt(sums: torch.Tensor) -> torch.Tensor:
        n = sums[..., 0, :]
        with torch.no_grad():
            m1 = sums[..., 1, :] / n
            r2 = sums[..., 2, :] / n
            r3 = sums[..., 3, :] / n
            r4 = sums[..., 4, :] / n
            c2 = r2 - m1 ** 2
            c4 = r4 - 4 * m1 * r3 + 6 * m1 ** 2 * r2 - 3 * m1 ** 4
            # a preactivation that is constant on the samples (up to float64 rounding of the raw moments) has no
            # kurtosis: NaN, not the +-inf or noise that c4 / c2^2 of two rounding residues would give
            flat = c2 <= 1e-12 * r2.abs().clamp_min(torch.finfo(torch.float64).tiny)
            return torch.where(flat, torch.full_like(c2, float("nan")), c4 / (c2 * c2))

    def kurtosis(self) -> torch.Tensor:
        """(H,) kurtosis over everything seen."""
        return self._kurt(self.sums)

    def group_kurtosis(self) -> torch.Tensor:
        """(G, H) kurtosis per group (NaN for groups with fewer than 2 samples)."""
        k = self._kurt(self.gsums)
        n = self.gsums[:, 0, :]
        return torch.where(n >= 2, k, torch.full_like(k, float("nan")))


@dataclass
class PreactKurtosis:
    """Result of :func:`preactivation_kurtosis` (numpy float64 arrays).

    all: (H,) kurtosis of each unit over all inputs.
    per_class: (H,) per-class kurtosis averaged over the classes present (paper Fig 4B), or None.
    by_class: (K, H) per-class kurtosis (NaN for absent classes), or None.
    class_counts: (K,) inputs per class, or None.
    """

    all: np.ndarray
    per_class: np.ndarray | None
    by_class: np.ndarray | None
    class_counts: np.ndarray | None

    @property
    def mean_all(self) -> float:
        """Mean over units of the all-input kurtosis."""
        return float(np.nanmean(self.all))

    @property
    def mean_per_class(self) -> float:
        """Mean over units of the class-averaged kurtosis (the number plotted in Fig 4B)."""
        return float(np.nanmean(self.per_class)) if self.per_class is not None else float("nan")


def _batches(inputs, labels, batch_size: int) -> Iterable[tuple[torch.Tensor, torch.Tensor | None]]:
    if isinstance(inputs, (torch.Tensor, np.ndarray)):
        x = torch.as_tensor(inputs)
        y = None if labels is None else torch.as_tensor(labels)
        for i in range(0, x.shape[0], batch_size):
            yield x[i:i + batch_size], (None if y is None else y[i:i + batch_size])
        return
    for item in inputs:  # an iterable of x or (x, y)
        if isinstance(item, (tuple, list)):
            yield torch.as_tensor(item[0]), (torch.as_tensor(item[1]) if len(item) > 1 else None)
        else:
            yield torch.as_tensor(item), None


@torch.no_grad()
def preactivation_kurtosis(weight, bias=None, inputs=None, labels=None,
                           input_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                           batch_size: int = 4096, num_classes: int | None = None) -> PreactKurtosis:
    """Per-unit kurtosis of the first-layer preactivations ``lam = W x + b`` (paper Eq. 3-4).

    Args:
        weight: (H, D) first-layer weights (already multiplied by the mask: theta(t_rewind) * m(n-1)).
        bias: (H,) or None (a bias does not change the kurtosis; accepted for completeness).
        inputs: (P, D) tensor/array, or an iterable of x batches or of (x, y) batches.
        labels: (P,) int labels when ``inputs`` is an array; enables the per-class kurtosis.
        input_transform: applied to every raw batch before the layer (e.g. ``dataset.normalize`` followed by the
            model's input batch-norm), so the kurtosis is that of what the first layer actually sees.
        batch_size: rows per batch when ``inputs`` is an array. Only running float64 moments are kept: memory is
            5 × H float64 plus 5 × K × H for the per-class moments, whatever the number of inputs.
        num_classes: number of classes K (default: the largest label + 1; for an iterable of batches without it,
            the batches are first collected in memory to find the labels, so pass it when streaming a large set).
    """
    w = torch.as_tensor(weight).detach()
    dev = w.device
    w64 = w.to(torch.float64)
    b64 = None if bias is None else torch.as_tensor(bias).detach().to(device=dev, dtype=torch.float64)
    batches = _batches(inputs, labels, batch_size)
    if num_classes is None and isinstance(inputs, (torch.Tensor, np.ndarray)):
        num_classes = int(torch.as_tensor(labels).max()) + 1 if labels is not None and len(labels) else 0
    elif num_classes is None:
        batches = list(batches)
        ys = [y for _, y in batches if y is not None]
        num_classes = int(max(int(y.max()) for y in ys) + 1) if ys else 0
    acc = KurtosisAccumulator(n_groups=num_classes)
    saw_labels = False
    for xb, yb in batches:
        xb = xb.to(dev)
        if input_transform is not None:
            xb = input_transform(xb)
        lam = xb.to(torch.float64) @ w64.T
        if b64 is not None:
            lam = lam + b64
        if yb is not None:
            saw_labels = True
        acc.update(lam, yb if num_classes else None)
    k_all = acc.kurtosis().cpu().numpy()
    if num_classes and saw_labels:
        kc = acc.group_kurtosis().cpu().numpy()
        counts = acc.gsums[:, 0, 0].cpu().numpy().astype(np.int64)
        present = counts >= 2
        with warnings.catch_warnings():  # a unit with no surviving weight has NaN kurtosis in every class
            warnings.simplefilter("ignore", RuntimeWarning)
            per_class = np.nanmean(kc[present], axis=0) if present.any() else np.full(kc.shape[1], np.nan)
        return PreactKurtosis(all=k_all, per_class=per_class, by_class=kc, class_counts=counts)
    return PreactKurtosis(all=k_all, per_class=None, by_class=None, class_counts=None)
