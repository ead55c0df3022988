"""Magnitude pruning (IMP, one-shot) and random pruning with exactly matched counts.

**Count rule.** A pruning unit (a layer's weight matrix; with ``prune_bias`` its weights and biases
together; with ``scope="global"`` all hidden layers pooled) holding N prunable entries keeps

    k_0 = N,    k_n = k_{n-1} - floor(rate * k_{n-1} + 1/2)      (rate*k in float64, rounded half up)

entries after round n, i.e. each round removes the fraction ``rate`` of the *remaining* entries,
rounded to the nearest integer. Hidden layers use ``prune.rate`` (s), the output layer
``prune.output_rate`` (default s/2; 0 = never pruned). The same sequence k_n is used by IMP, one-shot
and random pruning, so their per-layer counts after round n are identical.

**Magnitude selection.** Among the entries still kept, the k_n with the largest |θ| survive; ties are
broken deterministically in favour of the lower flat index (row-major ``(out, in)``, weights before
biases when pooled). One-shot pruning applies this to the dense round-0 weights θ(T) with the all-ones
mask; IMP to θ(T) of round n-1 with mask m(n-1).

**Random masks.** Per pruning unit, one uniformly random permutation of the entries (seeded by
``(seed, layer)``) ranks them; round n keeps the first k_n. Each m(n) is therefore uniform among the
masks with k_n entries, and the masks are nested across rounds like IMP's.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from impkit.seeding import RANDOM_MASK, derive_seed


def keep_counts(n: int, rate: float, rounds: int) -> list[int]:
    """[k_0, ..., k_rounds] for a unit of ``n`` entries (see module docstring)."""
    ks = [int(n)]
    for _ in range(int(rounds)):
        k = ks[-1]
        ks.append(k - int(math.floor(float(rate) * k + 0.5)))
    return ks


def layer_rates(num_layers: int, prune_cfg) -> list[float]:
    """Per-layer pruning rate: hidden layers ``rate``, output layer ``output_rate`` (default rate/2)."""
    return [prune_cfg.rate] * (num_layers - 1) + [prune_cfg.output_rate_value]


def _units(shapes: Sequence[tuple[int, int]], prune_cfg) -> list[list[int]]:
    """Layer indices pooled into each pruning unit."""
    L = len(shapes)
    if prune_cfg.scope == "global" and L > 1:
        return [list(range(L - 1)), [L - 1]]
    return [[l] for l in range(L)]


def _unit_size(shapes, layers, prune_bias) -> int:
    return sum(shapes[l][0] * shapes[l][1] + (shapes[l][0] if prune_bias else 0) for l in layers)


def unit_counts(shapes: Sequence[tuple[int, int]], prune_cfg, n: int) -> list[int]:
    """k_n for each pruning unit (one per layer with layer scope)."""
    rates = layer_rates(len(shapes), prune_cfg)
    return [keep_counts(_unit_size(shapes, u, prune_cfg.prune_bias), rates[u[0]], n)[-1]
            for u in _units(shapes, prune_cfg)]


def layer_counts(shapes: Sequence[tuple[int, int]], prune_cfg, n: int) -> list[int]:
    """Entries kept per layer after round n (layer scope; weights, plus biases when pooled)."""
    if prune_cfg.scope != "layer":
        raise ValueError("per-layer counts are fixed in advance only for prune.scope='layer'")
    return unit_counts(shapes, prune_cfg, n)


def _flatten(ws, bs, layers, prune_bias):
    parts = []
    for l in layers:
        parts.append(ws[l].reshape(-1))
        if prune_bias:
            parts.append(bs[l].reshape(-1))
    return torch.cat(parts)


def _unflatten(flat, shapes, layers, prune_bias):
    out_w, out_b, i = {}, {}, 0
    for l in layers:
        o, inn = shapes[l]
        out_w[l] = flat[i:i + o * inn].reshape(o, inn)
        i += o * inn
        if prune_bias:
            out_b[l] = flat[i:i + o]
            i += o
    return out_w, out_b


def _as_cpu(ts):
    return [torch.as_tensor(t).detach().cpu() for t in ts]


def magnitude_masks(weights: Sequence, biases: Sequence, masks: Sequence, bias_masks: Sequence | None,
                    prune_cfg, n: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Masks after round ``n``: keep the k_n largest |θ| among the entries kept by ``masks``.

    ``weights``/``masks`` per layer (out, in); ``biases``/``bias_masks`` (out,). Returns bool masks."""
    ws, bs, ms = _as_cpu(weights), _as_cpu(biases), [m.bool() for m in _as_cpu(masks)]
    bms = [m.bool() for m in _as_cpu(bias_masks)] if bias_masks is not None else [torch.ones(b.shape, dtype=torch.bool) for b in bs]
    shapes = [tuple(w.shape) for w in ws]
    pb = prune_cfg.prune_bias
    new_m = [m.clone() for m in ms]
    new_bm = [m.clone() for m in bms]
    for unit, k in zip(_units(shapes, prune_cfg), unit_counts(shapes, prune_cfg, n)):
        score = _flatten([w.double().abs() for w in ws], [b.double().abs() for b in bs], unit, pb)
        alive = _flatten(ms, bms, unit, pb)
        if int(alive.sum()) < k:
            raise ValueError(f"cannot keep {k} entries: only {int(alive.sum())} remain (masks of round {n - 1}?)")
        score = torch.where(alive, score, torch.full_like(score, -1.0))
        order = torch.sort(score, descending=True, stable=True).indices
        _keep_first(order, k, shapes, unit, pb, new_m, new_bm)
    return new_m, new_bm


def _keep_first(order: torch.Tensor, k: int, shapes, unit, pb: bool, new_m: list, new_bm: list) -> None:
    """Keep the first ``k`` entries of ``order`` (flat indices of one pruning unit); write the unit's masks."""
    keep = torch.zeros(order.numel(), dtype=torch.bool)
    keep[order[:k]] = True
    mw, mb = _unflatten(keep, shapes, unit, pb)
    for l in unit:
        new_m[l] = mw[l]
        if pb:
            new_bm[l] = mb[l]


def imp_masks(weights, biases, masks, bias_masks, prune_cfg, n: int):
    """IMP: m(n) from θ(T) of round n-1 and m(n-1)."""
    return magnitude_masks(weights, biases, masks, bias_masks, prune_cfg, n)


def oneshot_masks(weights, biases, prune_cfg, n: int):
    """One-shot: m(n) from the dense round-0 θ(T), same per-layer counts as IMP after round n."""
    ones = [torch.ones(tuple(torch.as_tensor(w).shape), dtype=torch.bool) for w in weights]
    return magnitude_masks(weights, biases, ones, None, prune_cfg, n)


def random_masks(shapes: Sequence[tuple[int, int]], prune_cfg, n: int, seed: int):
    """Random: per unit a seeded uniform permutation; keep the first k_n entries (nested over rounds)."""
    shapes = [tuple(int(v) for v in s) for s in shapes]
    pb = prune_cfg.prune_bias
    new_m = [torch.ones(s, dtype=torch.bool) for s in shapes]
    new_bm = [torch.ones(s[0], dtype=torch.bool) for s in shapes]
    for ui, (unit, k) in enumerate(zip(_units(shapes, prune_cfg), unit_counts(shapes, prune_cfg, n))):
        size = _unit_size(shapes, unit, pb)
        g = torch.Generator().manual_seed(derive_seed(seed, RANDOM_MASK, unit[0]))
        _keep_first(torch.randperm(size, generator=g), k, shapes, unit, pb, new_m, new_bm)
    return new_m, new_bm


def sparsity_report(masks: Sequence, bias_masks: Sequence | None = None) -> dict:
    """Per-layer and total counts: ``{"layers": [{layer, shape, total, kept, sparsity, bias_kept}], ...}``."""
    layers = []
    tot = kept = 0
    for l, m in enumerate(masks):
        m = torch.as_tensor(m).bool()
        t, k = int(m.numel()), int(m.sum())
        entry = {"layer": l, "shape": list(m.shape), "total": t, "kept": k, "sparsity": 1.0 - k / t if t else 0.0}
        if bias_masks is not None:
            bm = torch.as_tensor(bias_masks[l]).bool()
            entry["bias_total"], entry["bias_kept"] = int(bm.numel()), int(bm.sum())
        layers.append(entry)
        tot += t
        kept += k
    return {"layers": layers, "total": tot, "kept": kept, "sparsity": 1.0 - kept / tot if tot else 0.0}


__all__ = ["keep_counts", "layer_rates", "layer_counts", "unit_counts", "magnitude_masks", "imp_masks",
           "oneshot_masks", "random_masks", "sparsity_report"]
