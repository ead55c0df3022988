"""Other sparsifiers than magnitude pruning: SNIP, iterative SNIP, SynFlow, OBD (one-shot and iterative), SET and
RigL.

Registered in :mod:`impkit.methods` as ``snip``, ``snip-iterative``, ``synflow``, ``obd``, ``obd-iterative``,
``set`` and ``rigl``. Every method keeps exactly IMP's count k_n per pruning unit after round n (:func:`impkit.prune.unit_counts`),
keeps the entries with the *largest* score among those still kept (ties: lower flat index, row-major (out, in),
weights before biases when pooled -- :func:`top_masks`), and its masks are then trained with impkit's rewind
protocol (θ(t_rewind) ⊙ m(n), steps t_rewind..T), except SET and RigL, which train from θ(0)
(:mod:`impkit.dynamic`).
Shapes: per layer l, W_l (out_l, in_l), b_l (out_l,); a score has the shape of its parameter. Scores are computed on
the CPU in float64 from files earlier rounds wrote (and θ(0), rebuilt from the seed), so masks do not depend on how
runs are batched. Models with input batch-norm are refused (the scored network would not be the trained one).

``snip`` (Lee et al. 2019)
    S_ij = |∂L/∂W_ij · W_ij| at θ(0), L the mean cross-entropy on :data:`SNIP_INPUTS` training rows spread over
    the classes (:func:`impkit.cavity_pruning.spread_indices`; labels are the data's). One shot: round n keeps the
    k_n largest scores of the dense θ(0) (masks nested over rounds). SNIP trains its mask from θ(0); here the masks
    are trained with the rewind protocol like every method -- which changes accuracy, not the mask.
``snip-iterative`` (de Jorge et al. 2021, "Iter SNIP"/FORCE)
    The same score recomputed at θ(0) ⊙ m(n-1) (the gradient of the pruned network at initialisation), round n
    keeps the k_n largest among m(n-1). No training enters the masks.
``synflow`` (Tanaka et al. 2020)
    Data-free. R = 1ᵀ(∏_l |W_l ⊙ m_l|) 1 with |b_l| added at each layer (the network with absolute weights on an
    all-ones input, no nonlinearity needed since every value is >= 0), S = ∂R/∂θ ⊙ |θ| at θ(0). Iterative: round n
    goes from m(n-1) to k_n in :data:`SYNFLOW_STEPS` steps, recomputing S after each, with the counts of each unit
    interpolated geometrically (k_{n-1} (k_n/k_{n-1})^{j/J}, rounded half up; exactly k_n at the last step).
    **Prediction by construction:** in the first layer ∂R/∂W1_ij = c_i x_j with x ≡ 1, so S_ij = c_i |W1_ij(0)|:
    within a unit the ranking is by |θ(0)| alone, and the first-layer masks are spatially random (i.i.d. init);
    only the number of weights per unit, via c_i, can vary.
``obd`` / ``obd-iterative`` (LeCun et al. 1990)
    Saliency S = ½ h θ², θ = θ(T) of round 0 (``obd``, one shot from the dense model, nested masks) or θ(T) of
    round n-1 under m(n-1) (``obd-iterative``, IMP's schedule). h is the diagonal of the Hessian of the mean
    cross-entropy on :data:`OBD_INPUTS` training rows (spread over the classes), computed *exactly*
    (:func:`hessian_diagonal`): for a ReLU network every output is piecewise linear in any single weight, so
    ∂²z/∂θ_i² = 0 almost everywhere and the Hessian diagonal equals the Gauss-Newton diagonal
    Σ_x J_iᵀ (diag p − p pᵀ) J_i / N (J_i = ∂z_out/∂θ_i, p the softmax); no labels and no sampling enter it.
    Cost: K backward passes (K = classes) per chunk of inputs; with more than :data:`OBD_EXACT_CLASSES` classes
    (ImageNet32's 1000) that is too slow on a CPU, and h is instead the Monte Carlo *true Fisher* diagonal, whose
    expectation is the same Gauss-Newton diagonal: per input one label drawn from the model's own softmax
    (``derive_seed(seed, "obd-fisher", n)``), h = Σ_x (∂ℓ(x, ŷ)/∂θ)² / N (:func:`fisher_diagonal`).
``set`` (Mocanu et al. 2018)
    Sparse from the start: round n is an independent sparse run at round n's counts, from θ(0), for the round's
    steps, starting from the random mask of the ``random`` method at those counts; every :data:`SET_PERIOD` steps
    each layer drops the fraction ζ = :data:`SET_ZETA` of its kept weights with the smallest |W| and regrows as
    many at random positions (new weights start at 0); no update in the last quarter of the round
    (:mod:`impkit.dynamic`). ``mask.npz`` holds the mask at the end of the round.
``rigl`` (Evci et al. 2020)
    As SET (same start, period and last update), but the d weights regrown per layer are the inactive entries with
    the largest |∂L/∂W| of the current network on one training minibatch (new weights start at 0), and ζ decays
    with a cosine over the updates of a round, ζ_t = ζ/2 (1 + cos(π (t − t_rewind) / (0.75 (T − t_rewind))))
    (:data:`RIGL_DYNAMICS`, :func:`impkit.dynamic.dense_gradients`). The start mask is SET's (uniformly random at
    round n's counts), not RigL's Erdős–Rényi-kernel allocation: counts per layer are IMP's here.

The locality of each method is judged against its own random null with the same number of weights per unit
(:func:`impkit.analysis.count_matched_null`): SNIP and SynFlow leave very uneven counts per unit.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from impkit import prune as P
from impkit.dynamic import Dynamics
from impkit.seeding import derive_seed

SNIP_INPUTS = 512  # training rows of SNIP's minibatch (spread over the classes)
OBD_INPUTS = 2048  # training rows of OBD's Hessian diagonal
OBD_EXACT_CLASSES = 32  # above this many classes OBD uses the sampled true Fisher instead of the exact diagonal
SYNFLOW_STEPS = 10  # SynFlow score-and-prune steps per round
SET_ZETA, SET_PERIOD, SET_STOP = 0.3, 100, 0.75  # SET: fraction dropped/regrown, steps between updates, last update
SET_DYNAMICS = Dynamics(start="init", period=SET_PERIOD, zeta=SET_ZETA, stop_fraction=SET_STOP, regrow="random")
# RigL (Evci et al. 2020): SET's schedule (their ΔT = 100, α = 0.3, T_end = 75 % of training) with gradient
# regrowth and ζ cosine-decayed over the updates
RIGL_DYNAMICS = Dynamics(start="init", period=SET_PERIOD, zeta=SET_ZETA, stop_fraction=SET_STOP, regrow="gradient",
                         decay="cosine")
_CHUNK_ELEMS = 1 << 24  # float64 elements of a Jacobian chunk in hessian_diagonal


# ------------------------------------------------------------------------------------------------
# selection with explicit counts
# ------------------------------------------------------------------------------------------------
def top_masks(w_scores: Sequence[torch.Tensor], b_scores: Sequence[torch.Tensor], masks: Sequence, bias_masks,
              prune_cfg, counts: Sequence[int]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per pruning unit (:func:`impkit.prune._units`) keep the ``counts[u]`` entries with the largest score among the
    entries kept by ``masks``/``bias_masks`` (ties: lower flat index). Scores must be >= 0 (NaN is refused)."""
    shapes = [tuple(s.shape) for s in w_scores]
    ms = [torch.as_tensor(m).bool() for m in masks]
    bms = ([torch.as_tensor(m).bool() for m in bias_masks] if bias_masks is not None
           else [torch.ones(s[0], dtype=torch.bool) for s in shapes])
    pb = prune_cfg.prune_bias
    new_m, new_bm = [m.clone() for m in ms], [m.clone() for m in bms]
    for unit, k in zip(P._units(shapes, prune_cfg), counts):
        score = P._flatten([s.double() for s in w_scores], [s.double() for s in b_scores], unit, pb)
        if torch.isnan(score).any():
            raise ValueError("a pruning score is NaN")
        alive = P._flatten(ms, bms, unit, pb)
        if int(alive.sum()) < k:
            raise ValueError(f"cannot keep {k} entries: only {int(alive.sum())} remain")
        score = torch.where(alive, score, torch.full_like(score, -1.0))
        P._keep_first(torch.sort(score, descending=True, stable=True).indices, k, shapes, unit, pb, new_m, new_bm)
    return new_m, new_bm


def _check(ctx) -> None:
    if ctx.cfg is not None and ctx.cfg.model.input_bn:
        raise ValueError(f"pruning method {ctx.cfg.prune.method!r}: models with model.input_bn are not supported "
                         "(the scored network would not be the one trained); set model.input_bn=false")


def _inputs(ctx, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(x (N, D) float64 features, y (N,)) of ``min(n, rows)`` training rows spread over the classes."""
    from impkit.cavity_pruning import spread_indices

    ds = ctx.data("train")
    idx = spread_indices(ds.y, n)
    return ds.normalize(ds.x[idx]).double(), ds.y[idx].long()


def _d(ts) -> list[torch.Tensor]:
    return [torch.as_tensor(t).detach().double().clone() for t in ts]


# ------------------------------------------------------------------------------------------------
# scores
# ------------------------------------------------------------------------------------------------
def forward(W: Sequence[torch.Tensor], b: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits (N, K) of the unstacked ReLU network W_l (out, in), b_l (out,) on x (N, D)."""
    h = x
    for l, (w, bb) in enumerate(zip(W, b)):
        h = h @ w.T + bb
        if l < len(W) - 1:
            h = F.relu(h)
    return h


def snip_scores(W, b, masks, x, y) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """SNIP: |∂L/∂θ ⊙ θ| at θ ⊙ m (per layer, shapes of W_l and b_l), L = mean cross-entropy of (x (N, D), y (N,))."""
    Wm = [(w * torch.as_tensor(m).double()).requires_grad_() for w, m in zip(_d(W), masks)]
    bb = [t.requires_grad_() for t in _d(b)]
    loss = F.cross_entropy(forward(Wm, bb, x.double()), y)
    g = torch.autograd.grad(loss, Wm + bb)
    L = len(Wm)
    return ([(gi * w).abs().detach() for gi, w in zip(g[:L], Wm)],
            [(gi * t).abs().detach() for gi, t in zip(g[L:], bb)])


def synflow_scores(W, b, masks, bias_masks=None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """SynFlow: ∂R/∂θ ⊙ θ with θ = |θ| ⊙ m and R = 1ᵀ (the network of |W_l ⊙ m_l| plus |b_l| on an all-ones input,
    no ReLU) (per layer, shapes of W_l and b_l; all >= 0)."""
    Wa = [(w.abs() * torch.as_tensor(m).double()).requires_grad_() for w, m in zip(_d(W), masks)]
    bms = bias_masks if bias_masks is not None else [torch.ones(t.shape[0]) for t in b]
    ba = [(t.abs() * torch.as_tensor(m).double()).requires_grad_() for t, m in zip(_d(b), bms)]
    h = torch.ones(1, Wa[0].shape[1], dtype=torch.float64)
    for w, t in zip(Wa, ba):
        h = h @ w.T + t
    g = torch.autograd.grad(h.sum(), Wa + ba)
    L = len(Wa)
    return [(gi * w).detach() for gi, w in zip(g[:L], Wa)], [(gi * t).detach() for gi, t in zip(g[L:], ba)]


def hessian_diagonal(W, b, x: torch.Tensor, chunk_elems: int = _CHUNK_ELEMS) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Exact diagonal of the Hessian of the mean cross-entropy of the ReLU network (W_l (out, in), b_l (out,)) on
    inputs x (N, D), with respect to every W_l and b_l (same shapes), almost everywhere (module docstring: for a
    ReLU network it equals the Gauss-Newton diagonal; labels do not enter). Float64; inputs in chunks."""
    Ws, bs = _d(W), _d(b)
    x = x.double()
    L = len(Ws)
    hW = [torch.zeros_like(w) for w in Ws]
    hb = [torch.zeros_like(t) for t in bs]
    K = Ws[-1].shape[0]
    width = max(w.shape[0] for w in Ws)
    c = max(1, chunk_elems // max(1, K * width))
    for i in range(0, x.shape[0], c):
        xs = x[i:i + c]
        ins, zs = [], []
        h = xs
        for l, (w, t) in enumerate(zip(Ws, bs)):
            ins.append(h)
            z = h @ w.T + t
            zs.append(z)
            h = F.relu(z) if l < L - 1 else z
        p = torch.softmax(h, dim=1)  # (n, K)
        J = torch.eye(K, dtype=torch.float64).expand(xs.shape[0], K, K)  # ∂z_out/∂z_l, (n, K, out_l)
        for l in range(L - 1, -1, -1):
            # s[n, i] = J[:, :, i]ᵀ (diag p − p pᵀ) J[:, :, i]
            s = (p.unsqueeze(2) * J * J).sum(1) - (p.unsqueeze(2) * J).sum(1) ** 2
            hW[l] += s.T @ (ins[l] ** 2)
            hb[l] += s.sum(0)
            if l > 0:
                J = (J @ Ws[l]) * (zs[l - 1] > 0).double().unsqueeze(1)
    N = x.shape[0]
    return [h / N for h in hW], [h / N for h in hb]


def fisher_diagonal(W, b, x: torch.Tensor, seed: int, batch: int = 256) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Monte Carlo true-Fisher diagonal (shapes of W_l and b_l): per input one label ŷ ~ softmax(z(x)) drawn from a
    CPU generator seeded by ``seed``, h = Σ_x (∂ℓ(x, ŷ)/∂θ)² / N, with per-example gradients δ_i(x) in_j(x) of
    each layer summed as (δ²)ᵀ(in²). Unbiased for the Gauss-Newton diagonal of :func:`hessian_diagonal`."""
    Ws, bs = _d(W), _d(b)
    x = x.double()
    g = torch.Generator().manual_seed(int(seed))
    hW = [torch.zeros_like(w) for w in Ws]
    hb = [torch.zeros_like(t) for t in bs]
    L = len(Ws)
    for i in range(0, x.shape[0], batch):
        h, ins, zs = x[i:i + batch], [], []
        for l, (w, t) in enumerate(zip(Ws, bs)):
            ins.append(h)
            z = h @ w.T + t
            if l == 0:  # the inputs and weights need no gradient: make z_0 the leaf the error signals start from
                z.requires_grad_(True)
            zs.append(z)
            h = F.relu(z) if l < L - 1 else z
        with torch.no_grad():
            yhat = torch.multinomial(torch.softmax(h, 1), 1, generator=g).squeeze(1)
        deltas = torch.autograd.grad(F.cross_entropy(h, yhat, reduction="sum"), zs)
        for l, d in enumerate(deltas):
            hW[l] += (d ** 2).T @ (ins[l].detach() ** 2)
            hb[l] += (d ** 2).sum(0)
    N = x.shape[0]
    return [t / N for t in hW], [t / N for t in hb]


def obd_scores(W, b, masks, x, seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """OBD saliency ½ h θ² at θ ⊙ m (per layer, shapes of W_l and b_l), h = :func:`hessian_diagonal` on x (or
    :func:`fisher_diagonal` with ``seed`` above :data:`OBD_EXACT_CLASSES` classes)."""
    Wm = [w * torch.as_tensor(m).double() for w, m in zip(_d(W), masks)]
    bb = _d(b)
    exact = Wm[-1].shape[0] <= OBD_EXACT_CLASSES
    hW, hb = hessian_diagonal(Wm, bb, x) if exact else fisher_diagonal(Wm, bb, x, seed)
    return [0.5 * h * w ** 2 for h, w in zip(hW, Wm)], [0.5 * h * t ** 2 for h, t in zip(hb, bb)]


# ------------------------------------------------------------------------------------------------
# the methods (registered in impkit.methods)
# ------------------------------------------------------------------------------------------------
def _ones(ctx):
    return ([torch.ones(s, dtype=torch.bool) for s in ctx.shapes], [torch.ones(s[0], dtype=torch.bool) for s in ctx.shapes])


def _prev(ctx):
    prev = ctx.mask(ctx.n - 1)
    return prev.weight_tensors(), prev.bias_tensors()


def snip_masks(ctx, iterative: bool):
    """m(n) of ``snip`` (dense θ(0)) or ``snip-iterative`` (θ(0) ⊙ m(n-1))."""
    _check(ctx)
    m, bm = _prev(ctx) if iterative else _ones(ctx)
    W, b = ctx.init()
    x, y = _inputs(ctx, SNIP_INPUTS)
    sw, sb = snip_scores(W, b, m, x, y)
    return top_masks(sw, sb, m, bm, ctx.prune, P.unit_counts(ctx.shapes, ctx.prune, ctx.n))


def synflow_masks(ctx, steps: int = SYNFLOW_STEPS):
    """m(n) of ``synflow``: from m(n-1) to k_n in ``steps`` score-and-prune steps at θ(0)."""
    _check(ctx)
    m, bm = _prev(ctx)
    W, b = ctx.init()
    k0 = P.unit_counts(ctx.shapes, ctx.prune, ctx.n - 1)
    k1 = P.unit_counts(ctx.shapes, ctx.prune, ctx.n)
    for j in range(1, steps + 1):
        counts = k1 if j == steps else [min(a, int(math.floor(a * (c / a) ** (j / steps) + 0.5))) if a else 0
                                        for a, c in zip(k0, k1)]
        sw, sb = synflow_scores(W, b, m, bm)
        m, bm = top_masks(sw, sb, m, bm, ctx.prune, counts)
    return m, bm


def obd_masks(ctx, iterative: bool):
    """m(n) of ``obd`` (saliency of the dense round-0 θ(T)) or ``obd-iterative`` (θ(T) of round n-1 ⊙ m(n-1))."""
    _check(ctx)
    m, bm = _prev(ctx) if iterative else _ones(ctx)
    W, b = ctx.trained(ctx.n - 1 if iterative else 0)
    x, _ = _inputs(ctx, OBD_INPUTS)
    sw, sb = obd_scores(W, b, m, x, seed=derive_seed(ctx.seed, "obd-fisher", ctx.n))
    return top_masks(sw, sb, m, bm, ctx.prune, P.unit_counts(ctx.shapes, ctx.prune, ctx.n))


def set_start_masks(ctx):
    """The mask SET's round n starts from: the ``random`` method's m(n) (uniform, round n's counts)."""
    return P.random_masks(ctx.shapes, ctx.prune, ctx.n, ctx.seed)


# ------------------------------------------------------------------------------------------------
# the page's measures: each method against its count-matched null and against IMP, at the last round
# ------------------------------------------------------------------------------------------------
# robustness measures of locality (row column, name in impkit.verdicts.ROBUSTNESS_DELTAS); they never vote
ROBUSTNESS_COLUMNS = (("frac_detected", "detection rate"), ("sigma_x_median", "width (detected units)"),
                      ("li_mean", "locality index"))


def _by_seed(rows, col: str) -> dict[int, float]:
    return {int(r["seed"]): float(r[col]) if r.get(col) is not None else float("nan") for r in rows}


def _paired(a: dict[int, float], b: dict[int, float], delta: float, larger_is_more: bool):
    """Paired effect over the seeds both sides have: ``a − b`` (``b − a`` when smaller is more)."""
    from impkit import verdicts

    seeds = sorted(set(a) & set(b))
    x, y = [a[s] for s in seeds], [b[s] for s in seeds]
    return verdicts.judge_paired(x, y, delta) if larger_is_more else verdicts.judge_paired(y, x, delta)


def last_round_effects(rows: Sequence[dict]) -> list[dict]:
    """Per condition (method × data/clone) of ``rows`` (:func:`impkit.analysis.sparsifier_rows`), at its last
    round: the per-seed means and the effects the page judges, with :mod:`impkit.verdicts`' rules.

    Each entry: ``condition`` (:class:`~impkit.conditions.Condition`), ``round``, ``seeds``, ``sparsity`` (first
    layer); ``width`` / ``null_width`` (mean over seeds of the paper's RF width, median over units, px, of the
    masks / of their count-matched null); ``locality``: the primary effect null − method of that width, paired by
    seed, margin :data:`impkit.verdicts.WIDTH_DELTA` (positive = more local than the null); ``robustness``:
    {name: effect method vs null, oriented so that positive = more local, margins of
    :data:`impkit.verdicts.ROBUSTNESS_DELTAS`} for the detection rate, the width over detected units and the
    locality index, with the means ``detected``/``null_detected``, ``width_detected``/``null_width_detected``,
    ``li``/``null_li``; ``accuracy`` (mean test accuracy, fraction) and ``accuracy_vs_imp`` (method − IMP on the
    same input, paired by seed, margin :data:`impkit.verdicts.ACCURACY_DELTA`; None for IMP); on the data only,
    ``clone_minus_data`` (the width on the clone minus on the data, Welch, margin WIDTH_DELTA: positive = more
    local on the data; None without clone rows). Conditions in :func:`impkit.conditions.sort_conditions` order."""
    from collections import defaultdict

    from impkit import verdicts
    from impkit.conditions import Condition, sort_conditions

    by: dict = defaultdict(list)
    for r in rows:
        by[Condition.of_row(r)].append(r)
    last = {c: [r for r in rs if r["round"] == max(x["round"] for x in rs)] for c, rs in by.items()}
    out = []
    for cond in sort_conditions(last):
        rs = last[cond]
        mean = lambda col: float(np.nanmean([r[col] if r.get(col) is not None else np.nan for r in rs])) \
            if any(r.get(col) is not None and np.isfinite(r[col]) for r in rs) else float("nan")  # noqa: E731
        e = {"condition": cond, "round": int(rs[0]["round"]), "seeds": sorted(int(r["seed"]) for r in rs),
             "sparsity": mean("sparsity"), "width": mean("sigma_paper_median"),
             "null_width": mean("null_sigma_paper_median"),
             "locality": _paired(_by_seed(rs, "null_sigma_paper_median"), _by_seed(rs, "sigma_paper_median"),
                                 verdicts.WIDTH_DELTA, True),
             "detected": mean("frac_detected"), "null_detected": mean("null_frac_detected"),
             "width_detected": mean("sigma_x_median"), "null_width_detected": mean("null_sigma_x_median"),
             "li": mean("li_mean"), "null_li": mean("null_li_mean"), "accuracy": mean("test_acc")}
        e["robustness"] = {name: _paired(_by_seed(rs, col), _by_seed(rs, "null_" + col),
                                         verdicts.ROBUSTNESS_DELTAS[name][1], verdicts.ROBUSTNESS_DELTAS[name][0])
                           for col, name in ROBUSTNESS_COLUMNS}
        imp = last.get(Condition("imp", cond.clone))
        e["accuracy_vs_imp"] = (None if cond.method == "imp" or imp is None else
                                _paired(_by_seed(rs, "test_acc"), _by_seed(imp, "test_acc"),
                                        verdicts.ACCURACY_DELTA, True))
        twin = last.get(Condition(cond.method, True))
        e["clone_minus_data"] = (None if cond.clone or twin is None else verdicts.judge_unpaired(
            [r["sigma_paper_median"] for r in twin], [r["sigma_paper_median"] for r in rs], verdicts.WIDTH_DELTA))
        out.append(e)
    return out


def synflow_construction(runs) -> tuple[int, int]:
    """The page's SynFlow prediction checked on runs: (units whose first-layer mask keeps exactly their largest
    |W1(0)| entries, units checked), over every ``synflow`` run and round >= 1, counting the units that keep at
    least one weight and lost at least one. θ(0) is rebuilt from each run's seed (:func:`impkit.rounds.init_params`)."""
    from impkit.rounds import init_params

    ok = tot = 0
    for r in runs:
        if r.method != "synflow":
            continue
        shapes = [m.shape for m in r.mask(0)]
        a = init_params(r.config, shapes)[0][0].abs().numpy()
        for n in r.rounds_done[1:]:
            m = np.asarray(r.mask(n)[0], dtype=bool)
            for i in range(m.shape[0]):
                if 0 < m[i].sum() < m.shape[1]:
                    tot += 1
                    ok += bool(a[i][m[i]].min() >= a[i][~m[i]].max())
    return ok, tot


__all__ = ["SNIP_INPUTS", "OBD_INPUTS", "OBD_EXACT_CLASSES", "SYNFLOW_STEPS", "SET_ZETA", "SET_PERIOD", "SET_STOP", "SET_DYNAMICS", "RIGL_DYNAMICS",
           "top_masks", "forward", "snip_scores", "synflow_scores", "hessian_diagonal", "fisher_diagonal", "obd_scores", "snip_masks",
           "synflow_masks", "obd_masks", "set_start_masks", "ROBUSTNESS_COLUMNS", "last_round_effects",
           "synflow_construction"]


# ------------------------------------------------------------------------------------------------
# recorded summaries (the page's default-preset results): python -m impkit.sparsifiers record ...
# ------------------------------------------------------------------------------------------------
RECORDED_DIR = str(Path(__file__).resolve().parent.parent / "book" / "recorded" / "sparsifiers")
PAGE_METHODS = ("imp", "random", "snip", "snip-iterative", "synflow", "obd", "obd-iterative", "set", "rigl")
FORMAT = "impkit.sparsifiers/1"
REGENERATE = "python -m impkit.sparsifiers record --preset default --seeds 0,1,2 --dataset"


def recorded_path(dataset: str, directory: str | Path | None = None) -> Path:
    """``<directory>/<dataset>.json`` (default :data:`RECORDED_DIR`): where the recording of ``dataset`` lives."""
    return Path(directory or RECORDED_DIR) / f"{dataset}.json"


def load_recorded(dataset: str, directory: str | Path | None = None) -> dict | None:
    """The recorded summary of ``dataset`` (:func:`record`; JSON nulls read back as NaN), or None when no file
    exists; ValueError naming the file and the command that regenerates it when the file is not such a summary.

    Keys: ``format``; ``settings`` (preset, dataset, seeds, methods, clone, min_weights, the method constants, the
    first run's config, image_shape (C, H, W), num_classes, runs_total and runs_reused: runs already complete
    before the recording started, whose training the provenance's wall time does not include); ``rows`` (:func:`impkit.analysis.sparsifier_rows`: one per run × round, data and clone, with the
    per-seed paper RF width, the robustness measures, the count-matched null's at the last round and the test
    accuracy); ``provenance`` (:func:`impkit.scale.provenance`)."""
    from impkit.scale import read_summary

    path = recorded_path(dataset, directory)
    if not path.exists():
        return None
    s = read_summary(path, FORMAT, regenerate=REGENERATE)
    if not s.get("rows"):
        raise ValueError(f"{path}: a recorded summary without rows; regenerate it with `{REGENERATE} {path.stem}`")
    return s


def describe_recorded(s: dict) -> str:
    """The sentence of :meth:`impkit.presets.PresetDescription.sentence` for a recorded summary ``s`` (its
    settings: preset, seeds, network, input, schedule), so that the page states what was trained without data."""
    from impkit.presets import PresetDescription

    st, cfg = s["settings"], s["settings"]["config"]
    c, h, w = (int(v) for v in st["image_shape"])
    return PresetDescription(preset=st["preset"], dataset=st["dataset"], seeds=tuple(int(x) for x in st["seeds"]),
                             input_shape=(c, h, w), num_classes=int(st["num_classes"]),
                             hidden=tuple(int(x) for x in cfg["model"]["hidden"]), steps=int(cfg["train"]["steps"]),
                             t_rewind=int(cfg["train"]["t_rewind"]), rounds=int(cfg["prune"]["rounds"]),
                             rate=float(cfg["prune"]["rate"])).sentence


def _complete_runs(preset, dataset, methods, seeds, root, clone, overrides) -> int:
    """How many of the runs a recording needs are already complete under ``root`` (trained by an earlier call):
    the wall time of the provenance covers only the rest."""
    from impkit.grid import run_state
    from impkit.presets import make_config

    names = [dataset, f"{dataset}-clone"] if clone else [dataset]
    return sum(run_state(make_config(preset, ds, m, int(s), overrides=dict(overrides or {})), root).complete
               for ds in names for m in methods for s in seeds)


def record(preset: str, dataset: str | None, seeds: Sequence[int], out: str | None = None, root: str = "runs",
           device: str = "auto", methods: Sequence[str] = PAGE_METHODS, clone: bool = True, min_weights: int = 8,
           command: Sequence[str] = (), overrides: dict | None = None) -> str:
    """Train (or reuse, under ``root``) the runs of ``methods`` × ``seeds`` on ``dataset`` (None: the preset's) and
    its Gaussian clone at ``preset``, and write ``out`` (default :func:`recorded_path`) = {"format", "settings",
    "rows": :func:`impkit.analysis.sparsifier_rows`, "provenance"} (NaN as null); returns the path."""
    import time

    from impkit import analysis
    from impkit.methods import names
    from impkit.presets import preset_dataset
    from impkit.runs import ensure_runs
    from impkit.scale import code_commit, provenance, write_summary

    dataset = dataset or preset_dataset(preset)
    unknown = [m for m in methods if m not in names()]
    if unknown:
        raise ValueError(f"--methods: unknown method(s) {', '.join(unknown)}; known: {', '.join(names())}")
    out = out or str(recorded_path(dataset))
    commit = code_commit()
    reused = _complete_runs(preset, dataset, methods, seeds, root, clone, overrides)
    t0 = time.perf_counter()
    runs = ensure_runs(preset, dataset, methods=tuple(methods), seeds=tuple(seeds), root=root, device=device,
                       clone=clone, overrides=dict(overrides or {}), progress=False)
    rows = analysis.sparsifier_rows(runs, min_weights=min_weights)
    dev = str(runs[0].metrics(0).get("device", device))
    doc = {"format": FORMAT,
           "settings": {"preset": preset, "dataset": dataset, "seeds": list(seeds), "methods": list(methods),
                        "clone": clone, "min_weights": min_weights, "null_rounds": "last",
                        "overrides": {k: str(v) for k, v in (overrides or {}).items()},
                        "runs_total": len(runs), "runs_reused": reused,
                        "snip_inputs": SNIP_INPUTS, "obd_inputs": OBD_INPUTS, "synflow_steps": SYNFLOW_STEPS,
                        **{name: {"start": d.start, "period": d.period, "zeta": d.zeta, "stop_fraction": d.stop_fraction,
                                  "regrow": d.regrow, "decay": d.decay}
                           for name, d in (("set", SET_DYNAMICS), ("rigl", RIGL_DYNAMICS))},
                        "config": runs[0].config.to_dict(),
                        "image_shape": [int(v) for v in analysis.image_shape(runs[0])],
                        "num_classes": int(runs[0].mask(0)[-1].shape[0])},
           "rows": rows,
           "checks": {"synflow_largest_init": list(synflow_construction(runs))},
           "provenance": provenance(list(command), time.perf_counter() - t0, dev, commit)}
    return str(write_summary(doc, out))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impkit.sparsifiers record --preset default --seeds 0,1,2 [--dataset fashion-mnist]``."""
    import argparse
    import sys

    from impkit.cli import error_line

    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m impkit.sparsifiers", description="record the sparsifiers page's "
                                 "summary of a dataset (book/recorded/sparsifiers/<dataset>.json)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="train (or reuse) the page's runs at a preset and write their summary")
    r.add_argument("--preset", default="default")
    r.add_argument("--dataset", default=None, help="default: the preset's dataset (its clone is added)")
    r.add_argument("--seeds", default="0,1,2")
    r.add_argument("--methods", default=",".join(PAGE_METHODS))
    r.add_argument("--root", default="runs")
    r.add_argument("--device", default="auto")
    r.add_argument("--out", default=None, help=f"default {RECORDED_DIR}/<dataset>.json")
    a = ap.parse_args(argv)
    try:
        seeds = [int(s) for s in a.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds: comma-separated integers expected, got {a.seeds!r}")
    try:
        print(record(a.preset, a.dataset, seeds, a.out, a.root, a.device, methods=a.methods.split(","),
                     command=["python -m impkit.sparsifiers", *argv]))
    except ValueError as e:  # ConfigError, unknown methods, data errors: one line
        print(error_line(e), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
