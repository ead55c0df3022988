"""Cavity-guided pruning: the pruning method the paper proposes, and one variant.

Redman et al. (2024) close by noting that the cavity score of a first-layer weight (paper Eq. 5; positive = its
removal makes the unit's preactivation *less* Gaussian) computed before any pruning already orders the weights
roughly by the round in which IMP removes them, so it "could be used to more efficiently find localized RFs".
This module turns that remark into two pruning methods, registered in :mod:`impkit.methods`:

``cavity`` (the proposal)
    Round n >= 1. **First layer:** score every surviving weight at the rewind point θ(t_rewind) ⊙ m(n−1) -- the
    network IMP is about to train, where the paper computes its Fig 5 scores -- and remove those with the
    *largest* cavity scores (their removal makes the preactivations most non-Gaussian). **Other layers:** by
    magnitude of θ(T) of round n−1 under m(n−1), exactly as IMP (:func:`impkit.prune.imp_masks`). Every layer
    keeps exactly IMP's count k_n (:func:`impkit.prune.unit_counts`), and rewinding and retraining are the
    round driver's, as for every method.

``cavity-trained`` (the variant)
    The same, but the first layer is scored at θ(T) of round n−1 ⊙ m(n−1), the weights IMP reads its magnitudes
    from. Why this variant: at the rewind point (t_rewind = 10 % of training at the default preset) the first
    layer is still close to its random initialisation, and on the default NLGP task its cavity scores barely
    reproduce on a second sample of the same data: scored on two disjoint halves of 8,192 training inputs, the
    dense layer's scores have a rank correlation of 0.08 (the halves agree on 39 % of the weights to remove,
    chance 30 %); at θ(T) the learned filters give 0.22 (46 %). If the proposal fails at the rewind point, this
    variant says whether the criterion or the point it is read at is to blame. (The book's page,
    notebooks/07_cavity_pruning, measures this reliability on its own runs: :func:`split_half_reliability`.)

Choices the paper leaves open, made here:

* **Inputs.** The training split the run was trained on (for a Gaussian clone, the clone's training rows), as
  the network sees it (normalised features). The closed form needs the raw rows, so the sample is bounded:
  ``min(SCORE_INPUTS, N)`` rows spread as evenly as possible over the classes (:func:`spread_indices`: the first
  row of every class, then the second, ...; deterministic, in dataset order). Fewer rows make the ranking
  noisier (the score is a small difference of two kurtosis estimates); 8,192 rows cost one
  :func:`~impkit.metrics.cavity_scores` call of about 0.1 s per round on a 128 × 576 layer and about 3 s on the
  paper's 1024 × 3072 first layer (float64, 2 CPU cores). Models with input batch-norm are refused: the rewind
  point handed to a method has no batch-norm statistics, and the first layer would see other inputs than the
  ones scored.
* **Order.** Among surviving entries, the k_n with the *smallest* scores are kept, i.e. the largest are
  removed. Ties go to the lower flat index (row-major (out, in); kept first), as :mod:`impkit.prune` does for
  magnitudes. Entries already pruned are never kept.
* **Undefined scores.** A score is NaN where the unit's kurtosis is undefined: for the unit's last surviving
  weight (without it the preactivation is constant) and for every weight of a unit whose preactivation is
  already constant on the sample. NaN ranks as "never prefer to remove": such weights are kept before any weight
  with a finite score. The count is still met exactly: if more NaN-scored weights survive than k_n, those with
  the lower flat index are kept.
* **Biases.** Never pruned by default. With ``prune.prune_bias`` (biases pooled with the weights of their layer)
  a bias scores exactly 0 -- removing it shifts λ and leaves its kurtosis unchanged (paper, footnote 2) -- and
  competes with the weights on that score. ``prune.scope="global"`` (all hidden layers pooled) is not supported:
  cavity scores exist for the first layer only.
* **Precision and determinism.** Scores are computed on the CPU in float64, from files the earlier rounds wrote,
  independently of how runs are batched for training; the same run gives the same masks bit for bit.

The book's verdict on the proposal is a rule of :mod:`impkit.verdicts` (:func:`impkit.verdicts.proposal`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from impkit import prune as P

SCORE_INPUTS = 8192  # at most this many training rows (spread evenly over the classes) feed the scores
SCORE_POINTS = ("rewind", "trained")  # where the first layer is scored: θ(t_rewind) ⊙ m(n-1) or θ(T) ⊙ m(n-1)

__all__ = [
    "SCORE_INPUTS", "SCORE_POINTS", "spread_indices", "score_inputs", "layer_scores", "keep_order",
    "cavity_keep_mask", "cavity_masks", "method_masks", "split_halves", "split_half_reliability",
]


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------
def spread_indices(y, n: int) -> torch.Tensor:
    """Indices (ascending, int64, CPU) of ``min(n, N)`` rows spread as evenly as possible over the classes.

    ``y``: (N,) integer labels >= 0. Rows are taken in the order: the first row of every class (in dataset order),
    then the second row of every class, and so on, so every class gives ``n // K`` or one more rows, and a class
    with fewer rows gives all of them while the others fill the remaining places. Depends only on the labels.
    (The same selection as :func:`impkit.analysis.spread_sample`, which the analyses use for their samples.)
    """
    y = torch.as_tensor(y).cpu().long()
    if int(n) >= len(y):
        return torch.arange(len(y))
    order = torch.argsort(y, stable=True)
    ys = y[order]
    counts = torch.bincount(ys)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(y)
    rank[order] = torch.arange(len(y)) - starts[ys]  # position of each row within its class
    take = torch.argsort(rank, stable=True)[: int(n)]
    return torch.sort(take).values


def score_inputs(ds, n: int = SCORE_INPUTS) -> torch.Tensor:
    """(P, D) float32 normalised features of ``ds`` (a :class:`~impkit.data.base.Dataset`) on the CPU:
    the ``P = min(n, len(ds))`` rows of :func:`spread_indices`."""
    idx = spread_indices(ds.y, n)
    return ds.features(idx.to(ds.x.device)).cpu()


# ------------------------------------------------------------------------------------------------
# scores and selection
# ------------------------------------------------------------------------------------------------
def layer_scores(weight, mask, inputs) -> torch.Tensor:
    """Cavity scores (H, D) float64 on the CPU of the layer ``weight`` ⊙ ``mask`` on ``inputs``.

    ``weight``: (H, D) weights; ``mask``: (H, D) bool (True = surviving); ``inputs``: (P, D) the inputs the layer
    sees. Exactly :func:`impkit.metrics.cavity_scores` (paper Eq. 5) of the masked layer: pruned entries score 0
    (they are never candidates anyway), a unit's last surviving weight NaN.
    """
    from impkit.metrics.cavity import cavity_scores  # lazy: impkit.metrics loads scikit-learn

    w = torch.as_tensor(weight).detach().cpu().to(torch.float64)
    m = torch.as_tensor(mask).detach().cpu().bool()
    return cavity_scores(w * m, torch.as_tensor(inputs).detach().cpu(), dtype=torch.float64)


def keep_order(scores, alive) -> np.ndarray:
    """Flat indices (N,) int64 of ``scores`` in the order in which entries are kept.

    ``scores``, ``alive``: same shape (any; flattened row-major). Order: surviving entries with a NaN score (by
    index), then surviving entries by ascending score (ties: lower index first), then pruned entries (by index).
    Keeping the first k of this order removes the entries with the largest scores.
    """
    s = np.asarray(torch.as_tensor(scores).detach().cpu().to(torch.float64)).ravel()
    a = np.asarray(torch.as_tensor(alive).detach().cpu()).ravel().astype(bool)
    if s.shape != a.shape:
        raise ValueError(f"scores and alive differ in size: {s.shape} vs {a.shape}")
    nan = np.isnan(s)
    group = np.where(a & nan, 0, np.where(a, 1, 2))
    key = np.where(group == 1, s, 0.0)
    return np.lexsort((np.arange(s.size), key, group)).astype(np.int64)


def cavity_keep_mask(scores, alive, k: int) -> torch.Tensor:
    """Bool mask of ``scores``' shape keeping exactly ``k`` surviving entries: the first ``k`` of :func:`keep_order`
    (the smallest scores; NaN first; ties to the lower flat index). ValueError if fewer than ``k`` survive."""
    a = torch.as_tensor(alive).detach().cpu().bool()
    if int(a.sum()) < int(k):
        raise ValueError(f"cannot keep {k} entries: only {int(a.sum())} survive")
    keep = np.zeros(a.numel(), dtype=bool)
    keep[keep_order(scores, a)[: int(k)]] = True
    return torch.from_numpy(keep.reshape(tuple(a.shape)))


def cavity_masks(weights: Sequence, biases: Sequence, masks: Sequence, bias_masks: Sequence | None,
                 score_weight, inputs, prune_cfg, n: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """m(n) of cavity-guided pruning, per layer (bool weight masks (out, in) and bias masks (out,)).

    Args:
        weights, biases: θ(T) of round n−1 per layer, (out, in) and (out,): the magnitudes of every layer but the
            first (as IMP).
        masks, bias_masks: m(n−1) per layer (bias_masks None: all biases kept).
        score_weight: (H, D) first-layer weights to score (θ(t_rewind) or θ(T) of round n−1; masked here).
        inputs: (P, D) the inputs the first layer sees.
        prune_cfg: the run's :class:`~impkit.config.PruneConfig` (layer scope only).
        n: the round (>= 1).

    Every layer keeps :func:`impkit.prune.unit_counts`; layers after the first are exactly
    :func:`impkit.prune.imp_masks`; the first layer keeps the entries first in :func:`keep_order` of its cavity
    scores (with ``prune_bias``, its biases pooled in, each scoring 0).
    """
    if prune_cfg.scope != "layer":
        raise ValueError("cavity-guided pruning scores the first layer only: it needs prune.scope='layer', "
                         f"got {prune_cfg.scope!r}")
    new_m, new_bm = P.imp_masks(weights, biases, masks, bias_masks, prune_cfg, n)
    m0 = torch.as_tensor(masks[0]).detach().cpu().bool()
    shapes = [tuple(torch.as_tensor(w).shape) for w in weights]
    k0 = P.unit_counts(shapes, prune_cfg, n)[0]
    s = layer_scores(score_weight, m0, inputs)
    if prune_cfg.prune_bias:
        bm0 = (torch.as_tensor(bias_masks[0]).detach().cpu().bool() if bias_masks is not None
               else torch.ones(m0.shape[0], dtype=torch.bool))
        flat = torch.cat([s.reshape(-1), torch.zeros(m0.shape[0], dtype=s.dtype)])
        keep = cavity_keep_mask(flat, torch.cat([m0.reshape(-1), bm0]), k0)
        new_m[0], new_bm[0] = keep[: m0.numel()].reshape(m0.shape), keep[m0.numel():]
    else:
        new_m[0] = cavity_keep_mask(s, m0, k0)
    return new_m, new_bm


def method_masks(ctx, point: str = "rewind"):
    """The registered methods' body: m(n) for a :class:`~impkit.methods.MaskContext` ``ctx``, scoring the first
    layer at ``point`` ("rewind": θ(t_rewind) ⊙ m(n−1); "trained": θ(T) of round n−1 ⊙ m(n−1)); returns
    :class:`~impkit.runformat.Masks`."""
    from impkit.runformat import Masks

    if point not in SCORE_POINTS:
        raise ValueError(f"point must be one of {SCORE_POINTS}, got {point!r}")
    cfg = ctx.cfg
    if cfg is not None and getattr(cfg.model, "input_bn", False):
        raise ValueError("cavity-guided pruning does not support model.input_bn: the rewind point given to a "
                         "pruning method carries no batch-norm statistics, so the inputs the first layer sees "
                         "cannot be reconstructed")
    if ctx.data is None:
        raise ValueError("cavity-guided pruning needs the run's training data (MaskContext.data)")
    W, b = ctx.trained(ctx.n - 1)
    prev = ctx.mask(ctx.n - 1)
    score_w = ctx.rewind()[0][0] if point == "rewind" else W[0]
    x = score_inputs(ctx.data("train"))
    m, bm = cavity_masks(W, b, prev.weight_tensors(), prev.bias_tensors(), score_w, x, ctx.prune, ctx.n)
    return Masks.from_tensors(m, bm)


# ------------------------------------------------------------------------------------------------
# how reliable is the ranking? (notebook 07)
# ------------------------------------------------------------------------------------------------
def split_halves(y, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint samples of at most ``n`` rows each, both spread evenly over the classes.

    ``y``: (N,) labels. The rows of :func:`spread_indices` ``(y, 2n)`` are dealt alternately within each class
    (its 1st, 3rd, ... row to the first half, its 2nd, 4th, ... to the second). Returns two ascending int64 index
    tensors on the CPU.
    """
    y = torch.as_tensor(y).cpu().long()
    sel = spread_indices(y, 2 * int(n))
    ys = y[sel]
    pos = torch.zeros(len(sel), dtype=torch.long)
    for c in torch.unique(ys):
        w = ys == c
        pos[w] = torch.arange(int(w.sum()))
    return sel[pos % 2 == 0], sel[pos % 2 == 1]


def split_half_reliability(weight, mask, ds, n: int = SCORE_INPUTS, rate: float = 0.3) -> dict:
    """How well the cavity ranking of a layer reproduces on a second sample of the same data.

    ``weight`` (H, D) and ``mask`` (H, D) bool: the layer to score (``weight`` ⊙ ``mask``); ``ds``: a Dataset of
    the inputs the layer sees. The scores are computed on the two halves of :func:`split_halves` ``(ds.y,
    min(n, N // 2))``. Returns ``{"rho": Spearman correlation of the two halves' scores over the surviving weights
    with finite scores in both, "overlap": share of the weights one half's selection would remove (the fraction
    ``rate`` of the survivors, by :func:`cavity_keep_mask`) that the other half's would remove too, "chance": the
    overlap expected from unrelated rankings (= the removed fraction), "n_inputs": rows per half}``.
    """
    from scipy.stats import spearmanr

    m = torch.as_tensor(mask).detach().cpu().bool()
    a, b = split_halves(ds.y, min(int(n), len(ds) // 2))
    sa = layer_scores(weight, m, ds.features(a.to(ds.x.device)).cpu())
    sb = layer_scores(weight, m, ds.features(b.to(ds.x.device)).cpu())
    ok = m & torch.isfinite(sa) & torch.isfinite(sb)
    rho = float(spearmanr(sa[ok].numpy(), sb[ok].numpy()).statistic) if int(ok.sum()) > 2 else float("nan")
    alive = int(m.sum())
    k = P.keep_counts(alive, rate, 1)[1]
    gone_a = m & ~cavity_keep_mask(sa, m, k)
    gone_b = m & ~cavity_keep_mask(sb, m, k)
    removed = int(gone_a.sum())
    overlap = float((gone_a & gone_b).sum()) / removed if removed else float("nan")
    return {"rho": rho, "overlap": overlap, "chance": removed / alive if alive else float("nan"),
            "n_inputs": int(len(a))}
