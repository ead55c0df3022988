"""From run directories to the tables and curves the book plots.

The notebooks call these functions on the :class:`~impkit.runs.Run` objects returned by
:func:`impkit.runs.ensure_runs`; each returns plain rows (list of dicts, one per run × round) or curves and
summaries keyed by :class:`~impkit.conditions.Condition` (method × data or clone), in the order of tables and
legends, as :func:`impkit.plotting.metric_vs_sparsity` and :mod:`impkit.verdicts` take them.
All first-layer quantities use layer 0; "sparsity" is the first-layer sparsity of the mask analysed.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np
import torch

from impkit.conditions import Condition, sort_conditions
from impkit.metrics import (
    gaussian_fit_profiles,
    mask_correlation,
    cavity_by_fate_over_rounds,
    cavity_scores,
    fate_round,
    group_by_fate,
    locality_index,
    on_time_share,
    preactivation_kurtosis,
    rf_width_fit,
    shuffled_on_time_share,
)
from impkit.runs import Run
from impkit.seeding import derive_seed

def group_runs(runs: Iterable[Run]) -> dict[tuple[str, str], list[Run]]:
    """Runs grouped by (dataset, method), each group sorted by seed; data before clone, then by dataset name, then
    in the pruning-method registry's order (:attr:`Condition.sort_key`)."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for r in runs:
        groups[(r.dataset, r.method)].append(r)

    def key(k: tuple[str, str]) -> tuple:
        c = Condition.of(*k)
        return (c.clone, k[0], *c.sort_key[1:])

    return {k: sorted(groups[k], key=lambda r: r.seed) for k in sorted(groups, key=key)}


def first_layer_sparsity(run: Run, n: int) -> float:
    """Fraction of first-layer weights pruned in m(n)."""
    return float(run.sparsity(n)["layers"][0]["sparsity"])


def _rows_base(run: Run, n: int) -> dict:
    return {"dataset": run.dataset, "method": run.method, "seed": run.seed, "round": n,
            "sparsity": first_layer_sparsity(run, n)}


def accuracy_rows(runs: Iterable[Run]) -> list[dict]:
    """Per run × round: final test accuracy and loss of the retrained network, and the overall sparsity."""
    rows = []
    for r in runs:
        for n in r.rounds_done:
            m = r.metrics(n)
            rows.append({**_rows_base(r, n), "overall_sparsity": float(r.sparsity(n)["sparsity"]),
                         "test_acc": float(m["final_test_acc"]), "test_loss": float(m["final_test_loss"])})
    return rows


def paper_rf_width(masks, image_shape, min_weights: int = 8, **fit_options) -> np.ndarray:
    """The paper's RF width per unit (units,): σx of A·exp(−dx²/2σx² − dy²/2σy²) fitted to S_i(d) (Eq. 1), d = 0 left
    out, no background term, on every unit with at least ``min_weights`` weights, detected or not (a fit that
    reaches a bound is kept at the bound: 0.5 px or the image side); NaN for the excluded units.

    The paper does not say which units enter its Fig. 3C/4A; this is the book's reading (every counted unit). The
    verdicts' primary statistic is its median over units (C2) and its mean (C3a)."""
    # the fit alone (no detection test, whose random-mask null would be simulated for every new weight count)
    opts = {k: v for k, v in fit_options.items() if k in ("sigma_min", "sigma_max", "n_iter", "grid")}
    m = np.asarray(masks.numpy() if isinstance(masks, torch.Tensor) else masks) != 0
    m = m[None] if m.ndim == 1 else m
    out = np.full(m.shape[0], np.nan)
    ok = m.sum(1) >= min_weights
    if ok.any():
        s = mask_correlation(m[ok], image_shape)
        out[ok] = gaussian_fit_profiles(s, image_shape, background=False, **opts)["sigma_x"]
    return out


def paper_width_rows(runs: Iterable[Run], min_weights: int = 8, rounds: Sequence[int] | None = None,
                     **fit_options) -> list[dict]:
    """Per run × round: the primary locality statistic alone (cheaper than :func:`rf_width_rows`): the paper's RF
    width (:func:`paper_rf_width`) as sigma_paper_median and sigma_paper_mean over counted units, n_counted."""
    rows = []
    for r in runs:
        shape = image_shape(r)
        for n in (r.rounds_done if rounds is None else rounds):
            w = paper_rf_width(r.mask(n)[0], shape, min_weights=min_weights, **fit_options)
            ok = np.isfinite(w)
            nan = float("nan")
            rows.append({**_rows_base(r, n), "sigma_paper_median": float(np.median(w[ok])) if ok.any() else nan,
                         "sigma_paper_mean": float(w[ok].mean()) if ok.any() else nan, "n_counted": int(ok.sum())})
    return rows


def rf_width_rows(runs: Iterable[Run], min_weights: int = 8, rounds: Sequence[int] | None = None,
                  li_radius: float = 2.0, **fit_options) -> list[dict]:
    """Per run × round: locality of the first-layer masks m(n).

    Columns: the paper's RF width (:func:`paper_rf_width`, every counted unit, no background term):
    sigma_paper_median and sigma_paper_mean over counted units -- the primary statistic of C2 and C3a; the
    robustness measures: RF width from the Gaussian fit (``impkit.metrics.rf_width_fit``): sigma_x_mean, sigma_x_median and
    sigma_y_mean, sigma_y_median over the *detected* units only (units whose mask correlation has a significant
    local peak; NaN when no unit is detected: undetected units have no width and are never counted as the image
    size), n_detected and frac_detected = n_detected / n_counted (the detection rate; about 0.05 or less for masks
    without spatial structure); the fit-free locality index (``impkit.metrics.locality_index``: li_mean/li_median
    over counted units, 1 = random); n_units, n_counted and n_excluded (units with fewer than ``min_weights``
    surviving weights, left out of all of these).
    """
    rows = []
    for r in runs:
        shape = image_shape(r)
        for n in (r.rounds_done if rounds is None else rounds):
            rows.append({**_rows_base(r, n), **_locality(r.mask(n)[0], shape, min_weights, li_radius, fit_options)})
    return rows


def _locality(m0, shape, min_weights: int, li_radius: float, fit_options: dict) -> dict:
    """The locality columns of :func:`rf_width_rows` for one first-layer mask (out, in)."""
    res = rf_width_fit(m0, shape, min_weights=min_weights, **fit_options)
    paper = paper_rf_width(m0, shape, min_weights=min_weights, **fit_options)
    li = locality_index(m0, shape, radius=li_radius, min_weights=min_weights)
    det, ok = res.detected, ~res.excluded
    nan = float("nan")
    return {"sigma_paper_median": float(np.median(paper[ok])) if ok.any() else nan,
            "sigma_paper_mean": float(paper[ok].mean()) if ok.any() else nan,
            "sigma_x_mean": float(res.sigma_x[det].mean()) if det.any() else nan,
            "sigma_x_median": float(np.median(res.sigma_x[det])) if det.any() else nan,
            "sigma_y_mean": float(res.sigma_y[det].mean()) if det.any() else nan,
            "sigma_y_median": float(np.median(res.sigma_y[det])) if det.any() else nan,
            "n_units": int(len(res.sigma_x)), "n_excluded": int(res.n_excluded),
            "n_counted": int(ok.sum()), "n_detected": int(det.sum()),
            "frac_detected": float(res.frac_detected),
            "li_mean": float(np.nanmean(li)) if ok.any() else nan,
            "li_median": float(np.nanmedian(li)) if ok.any() else nan}


COUNT_NULL = "count-matched-null"  # random stream of count_matched_null: derive_seed(seed, COUNT_NULL, round)


def count_matched_null(mask, seed: int, n: int = 0) -> np.ndarray:
    """A random null of a first-layer mask (out, in): per unit (row) exactly as many kept weights as ``mask`` keeps,
    at uniformly random positions (bool (out, in)), drawn from ``derive_seed(seed, COUNT_NULL, n)``. Locality
    depends on the number of weights per unit, and methods such as SNIP and SynFlow leave very uneven counts; this
    null keeps each unit's count and destroys only the arrangement."""
    from impkit.seeding import derive_seed

    m = np.asarray(mask, dtype=bool)
    counts = m.sum(1)
    keys = np.random.default_rng(derive_seed(int(seed), COUNT_NULL, int(n))).random(m.shape)
    ranks = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    return ranks < counts[:, None]


def null_rf_width_rows(runs: Iterable[Run], min_weights: int = 8, rounds: Sequence[int] | None = None,
                       li_radius: float = 2.0, **fit_options) -> list[dict]:
    """:func:`rf_width_rows` of each run's count-matched random null (:func:`count_matched_null`, seeded by the
    run's seed and the round) instead of its mask; same columns (the sparsity is the mask's, which the null keeps)."""
    rows = []
    for r in runs:
        shape = image_shape(r)
        for n in (r.rounds_done if rounds is None else rounds):
            null = count_matched_null(r.mask(n)[0], r.config.seed, n)
            rows.append({**_rows_base(r, n), **_locality(null, shape, min_weights, li_radius, fit_options)})
    return rows


_SHAPES: dict[tuple, tuple[int, int, int]] = {}
_DATA_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
_DATA_CACHE_MAX = 4  # bounded samples kept (each at most n_inputs x D float32, e.g. 20,000 x 3,072 = 246 MB)


def _data_key(run: Run, split: str) -> tuple:
    c = run.config
    return (c.data.name, repr(sorted(c.data.options.items())), c.data.root, c.seed, split)


def _device(device) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def image_shape(run: Run) -> tuple[int, int, int]:
    """(C, H, W) of the run's inputs (cached per dataset, options and root)."""
    key = _data_key(run, "train")[:3]
    if key not in _SHAPES:
        _SHAPES[key] = tuple(run.load_data("train").image_shape)
    return _SHAPES[key]


def class_ranks(y: torch.Tensor) -> torch.Tensor:
    """(N,) int64: the position of each row among the rows of its class, in dataset order (0 = the class's first row).

    ``y``: (N,) int labels >= 0. Computed on CPU.
    """
    y = torch.as_tensor(y).cpu().long()
    order = torch.argsort(y, stable=True)
    ys = y[order]
    counts = torch.bincount(ys)
    starts = torch.cumsum(counts, 0) - counts
    ranks = torch.empty_like(y)
    ranks[order] = torch.arange(len(y)) - starts[ys]
    return ranks


def select_per_class(y: torch.Tensor, per_class: int | None = None) -> torch.Tensor | None:
    """Indices (ascending, int64, CPU) of the first ``per_class`` rows of every class, in dataset order.

    Classes with fewer rows contribute all of theirs. ``per_class=None`` selects everything and returns None
    (callers then read the rows as one slice, without an index array).
    """
    if per_class is None:
        return None
    if int(per_class) < 1:
        raise ValueError(f"per_class must be None or >= 1, got {per_class!r}")
    return torch.nonzero(class_ranks(y) < int(per_class)).flatten()


def spread_sample(y: torch.Tensor, n: int) -> torch.Tensor:
    """Indices (ascending, int64, CPU) of ``min(n, N)`` rows spread as evenly as possible over the classes.

    Rows are taken in the order: the first row of every class, then the second row of every class, and so on,
    so every class gets ``n // K`` or one more rows; a class with fewer rows gives all it has and the others fill
    the remaining places. Deterministic: depends only on the labels.
    """
    ranks = class_ranks(y)
    if n >= len(ranks):
        return torch.arange(len(ranks))
    take = torch.argsort(ranks, stable=True)[: int(n)]
    return torch.sort(take).values


def per_class_counts(y: torch.Tensor, idx: torch.Tensor | None = None, num_classes: int | None = None) -> np.ndarray:
    """(K,) int64 number of selected rows (``idx``; all rows when None) of each class."""
    y = torch.as_tensor(y).cpu().long()
    ys = y if idx is None else y[torch.as_tensor(idx).cpu()]
    return torch.bincount(ys, minlength=int(num_classes or 0)).numpy().astype(np.int64)


def _count_columns(counts: np.ndarray) -> dict:
    """Summary columns of per-class counts over the classes present: total, classes, min and median per class."""
    c = counts[counts > 0]
    return {"n_inputs": int(counts.sum()), "n_classes": int(c.size),
            "n_per_class_min": int(c.min()) if c.size else 0,
            "n_per_class_median": float(np.median(c)) if c.size else 0.0}


def stream_inputs(ds, idx: torch.Tensor | None = None, batch_size: int = 4096,
                  device: torch.device | str = "cpu") -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(x, y)`` batches of the rows ``idx`` (all rows when None) of a Dataset, normalised batch by batch.

    x: (B, D) float32 features (``ds.normalize`` of the raw rows, which stay in the storage dtype, e.g. uint8 for
    ImageNet32), y: (B,) int64 labels, both on ``device``. Only one batch is ever held as floats.
    """
    n = len(ds) if idx is None else len(idx)
    for s in range(0, n, batch_size):
        sel = slice(s, min(s + batch_size, n)) if idx is None else idx[s:s + batch_size].to(ds.x.device)
        yield ds.normalize(ds.x[sel].to(device)), ds.y[sel].to(device)


def run_inputs(run: Run, n_inputs: int = 20000, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """A bounded sample of the data a run was trained on: (x (n, D) float32 normalised, y (n,) int64), on CPU.

    n = min(``n_inputs``, rows of the split); the rows are spread evenly over the classes (:func:`spread_sample`)
    and kept in dataset order. Cached per (dataset, options, seed, split, n_inputs); at most a few samples are
    kept (the oldest is dropped).
    """
    key = _data_key(run, split) + (int(n_inputs),)
    if key not in _DATA_CACHE:
        ds = run.load_data(split)
        idx = spread_sample(ds.y, int(n_inputs))
        x = ds.features(idx.to(ds.x.device)).cpu()
        y = ds.y[idx.to(ds.y.device)].cpu()
        while len(_DATA_CACHE) >= _DATA_CACHE_MAX:
            _DATA_CACHE.pop(next(iter(_DATA_CACHE)))
        _DATA_CACHE[key] = (x, y)
        _SHAPES.setdefault(_data_key(run, "train")[:3], tuple(ds.image_shape))
    return _DATA_CACHE[key]


def clear_cache() -> None:
    """Forget cached inputs (free memory)."""
    _DATA_CACHE.clear()


def _first_layer_at_rewind(run: Run, n: int, device: torch.device | str = "cpu"):
    """(W (H, D), b (H,), input transform or None) of the first layer at θ(t_rewind) ⊙ m(n), on ``device``.

    The transform maps (B, D) features to the (B, D) input the first layer sees (the input batch-norm, eval mode).
    """
    Wn, bn = run.weights(n, "rewind")[0]
    W = torch.from_numpy(np.asarray(Wn, dtype=np.float32)).to(device)
    b = torch.from_numpy(np.asarray(bn, dtype=np.float32)).to(device)
    transform = None
    if run.config.model.input_bn:  # the first layer sees batch-normalised pixels (paper Eq. 3 note)
        model = run.model(n, "rewind").to(device)

        def transform(x: torch.Tensor, _m=model) -> torch.Tensor:
            with torch.no_grad():
                return _m.first_layer_input(x)[0]
    return W, b, transform


def kurtosis_rows(runs: Iterable[Run], per_class: int | None = None, split: str = "train",
                  rounds: Sequence[int] | None = None, batch_size: int = 4096, device=None,
                  count_null: bool = False) -> list[dict]:
    """Per run × round n: first-layer preactivation kurtosis at the rewind point θ(t_rewind) ⊙ m(n).

    This is the network IMP trains in round n + 1 (the paper indexes it by m(n−1) at round n). The inputs are the
    first ``per_class`` rows of every class of ``split`` in dataset order (None: every row of the split), streamed
    in batches of ``batch_size`` from the dataset's storage dtype (:func:`stream_inputs`) into float64 running
    moments, so memory does not grow with the split (1000 classes × 1024 units: 41 MB of moments). Per-class
    kurtosis needs many inputs per class: the plain estimator from n Gaussian samples has mean 3(n−1)/(n+1)
    (≈ 2.45 at n = 10, 2.98 at n = 300) and standard deviation ≈ sqrt(24/n).

    Columns: ``kurt_all`` (mean over units of the kurtosis over all selected inputs), ``kurt_class`` (per class,
    then averaged: the quantity of the paper's Fig 4B), ``n_inputs`` (rows used), ``n_classes`` (classes present),
    ``n_per_class_min`` / ``n_per_class_median`` (rows used per class). Units without any surviving weight have
    constant preactivations and are left out (NaN). ``device``: where to compute (None: CUDA if available).
    ``count_null``: also ``kurt_class_count_null``, the same with θ(t_rewind) under random masks that keep each
    unit's count of m(n) (:func:`count_matched_null`, seeded by the run's seed and the round): C3b's null, since a
    unit's preactivation kurtosis grows as it keeps fewer weights whatever their place.
    """
    dev = _device(device)
    rows = []
    for r in runs:
        ds = r.load_data(split)
        idx = select_per_class(ds.y, per_class)
        counts = _count_columns(per_class_counts(ds.y, idx, ds.num_classes))
        k = max(int(ds.num_classes), int(ds.y.max()) + 1 if len(ds) else 0)
        for n in (r.rounds_done if rounds is None else rounds):
            W, b, tf = _first_layer_at_rewind(r, n, dev)
            res = preactivation_kurtosis(W, b, stream_inputs(ds, idx, batch_size, dev), input_transform=tf,
                                         num_classes=k)
            row = {**_rows_base(r, n), "kurt_all": res.mean_all, "kurt_class": res.mean_per_class, **counts}
            if count_null:
                W0 = torch.from_numpy(np.asarray(r.weights(0, "rewind")[0][0], dtype=np.float32)).to(dev)
                keep = count_matched_null(r.mask(n)[0], r.seed, n)
                Wn = W0 * torch.from_numpy(keep).to(dev, W0.dtype)
                nul = preactivation_kurtosis(Wn, b, stream_inputs(ds, idx, batch_size, dev), input_transform=tf,
                                             num_classes=k)
                row["kurt_class_count_null"] = nul.mean_per_class
            rows.append(row)
    return rows


def curves(rows: Sequence[dict], key: str) -> dict[Condition, dict]:
    """Rows → ``{condition: {"sparsity": (R,), "values": (seeds, R), "rounds": (R,)}}`` for
    :func:`impkit.plotting.metric_vs_sparsity`, conditions in :attr:`Condition.sort_key` order.

    Rounds are aligned across seeds by round index; sparsity is the mean over seeds (it is identical by
    construction: per-layer counts are fixed by the pruning schedule).
    """
    by: dict[Condition, dict[int, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        by[Condition.of_row(row)][row["seed"]][row["round"]] = row
    out = {}
    for cond in sort_conditions(by):
        seeds = sorted(by[cond])
        rounds = sorted(set().union(*[by[cond][s].keys() for s in seeds]))
        vals = np.array([[by[cond][s].get(n, {}).get(key, np.nan) for n in rounds] for s in seeds], float)
        sp = np.array([[by[cond][s].get(n, {}).get("sparsity", np.nan) for n in rounds] for s in seeds], float)
        out[cond] = {"sparsity": np.nanmean(sp, 0), "values": vals, "rounds": np.array(rounds)}
    return out


def final_summary(rows: Sequence[dict], key: str, round_: int | None = None) -> dict[Condition, dict]:
    """Per condition at one round (default: the last round present): ``{condition: {"round", "sparsity", "mean",
    "min", "max", "n"}}`` over the seeds with a finite value (NaN statistics where none has one)."""
    out = {}
    for cond, c in curves(rows, key).items():
        i = len(c["rounds"]) - 1 if round_ is None else int(np.flatnonzero(c["rounds"] == round_)[0])
        v = c["values"][:, i]
        v = v[np.isfinite(v)]
        out[cond] = {"round": int(c["rounds"][i]), "sparsity": float(c["sparsity"][i]),
                     "mean": float(v.mean()) if v.size else float("nan"),
                     "min": float(v.min()) if v.size else float("nan"),
                     "max": float(v.max()) if v.size else float("nan"), "n": int(v.size)}
    return out


def cavity_analysis(run: Run, n_inputs: int = 20000, rounds: Sequence[int] | None = None,
                    split: str = "train", device=None) -> dict:
    """Cavity scores of an IMP run's first layer, grouped by the round each weight is eventually pruned ("fate").

    Scores at round n are computed at θ(t_rewind) ⊙ m(n) (closed form, float64) on a bounded sample of the run's
    inputs: min(``n_inputs``, rows of ``split``) rows spread evenly over the classes (:func:`run_inputs`), since
    the closed form needs the raw rows (20,000 × 3,072 float32 = 246 MB; the moment buffers are 4 × H × D float64,
    100 MB for a 1024 × 3072 layer). ``device``: where to compute (None: CUDA if available).

    Returns ``{"fate0": group_by_fate(...) at round 0 (Fig 5B), "over_rounds": cavity_by_fate_over_rounds(...)
    (Fig 5C, scaled by N_W(n) = N (1 − s)^n), "fate": (H, D) fate rounds, "never": fate of survivors,
    "on_time_share": C4's statistic (:func:`impkit.metrics.cavity.on_time_share`), "shuffled_share": its null with
    fates shuffled within bins of |θ(t_rewind)| (:func:`impkit.metrics.cavity.shuffled_on_time_share`; both NaN
    unless every round from 0 on was scored),
    "n_inputs", "n_classes", "n_per_class_min", "n_per_class_median": the inputs used}``.
    """
    if run.method != "imp":
        raise ValueError(f"cavity analysis needs an IMP run, got method {run.method!r} ({run.path})")
    dev = _device(device)
    done = run.rounds_done
    masks = [run.mask(n)[0] for n in done]
    fate = fate_round(masks)
    x, y = run_inputs(run, n_inputs, split)
    counts = _count_columns(per_class_counts(y))
    x = x.to(dev)
    rounds = list(done[:-1]) if rounds is None else list(rounds)
    scores = []
    for n in rounds:
        W, b, tf = _first_layer_at_rewind(run, n, dev)
        xin = tf(x) if tf is not None else x
        scores.append(cavity_scores(W, xin, b).cpu().numpy())
    fate0 = group_by_fate(scores[0], fate, mask=masks[0]) if rounds and rounds[0] == 0 else None
    over = cavity_by_fate_over_rounds(scores, masks, prune_fraction=run.config.prune.rate)
    share, shuffled = float("nan"), float("nan")
    if rounds == list(range(len(rounds))):  # C4's statistic needs the scores of every round from 0 on
        W0 = run.weights(0, "rewind")[0][0]
        share = on_time_share(scores, masks)
        shuffled = shuffled_on_time_share(scores, masks, W0, seed=derive_seed(run.seed, "c4-shuffle"))
    return {"fate0": fate0, "over_rounds": over, "fate": fate, "never": len(masks), "on_time_share": share,
            "shuffled_share": shuffled, **counts}


def cavity_over_rounds_mean(results: Sequence[dict]) -> np.ndarray:
    """(scoring round, fate) mean over seeds of the rescored per-fate means (``cavity_analysis(...)["over_rounds"]
    ["mean"]`` of each seed, Fig 5C); NaN where no seed has survivors of that fate then."""
    stack = np.array([r["over_rounds"]["mean"] for r in results])  # (seeds, scoring round, fate)
    n_ok = np.isfinite(stack).sum(0)
    return np.where(n_ok > 0, np.nansum(stack, 0) / np.maximum(n_ok, 1), np.nan)



SPARSIFIER_COLUMNS = ("sigma_paper_median", "sigma_paper_mean", "frac_detected", "sigma_x_median", "li_mean",
                      "n_counted", "n_excluded")


def sparsifier_rows(runs: Iterable[Run], min_weights: int = 8, rounds: Sequence[int] | None = None,
                    null_rounds: str | Sequence[int] = "last") -> list[dict]:
    """Per run × round, for the sparsifiers page: the locality columns of :func:`rf_width_rows` named in
    :data:`SPARSIFIER_COLUMNS`, the same columns of the run's count-matched random null prefixed ``null_``
    (:func:`null_rf_width_rows`; only at ``null_rounds``: ``"last"`` = each run's last round, ``"all"``, or a
    list; NaN elsewhere), and the test accuracy (``test_acc``) of :func:`accuracy_rows`. Plain JSON types."""
    runs = list(runs)
    own = rf_width_rows(runs, min_weights=min_weights, rounds=rounds)
    null = {}
    for r in runs:
        done = r.rounds_done if rounds is None else list(rounds)
        want = done[-1:] if null_rounds == "last" else done if null_rounds == "all" else \
            [n for n in done if n in set(null_rounds)]
        for row in null_rf_width_rows([r], min_weights=min_weights, rounds=want):
            null[(row["dataset"], row["method"], row["seed"], row["round"])] = row
    acc = {(r["dataset"], r["method"], r["seed"], r["round"]): r for r in accuracy_rows(runs)}
    out = []
    for a in own:
        key = (a["dataset"], a["method"], a["seed"], a["round"])
        row = {k: a[k] for k in ("dataset", "method", "seed", "round", "sparsity")}
        row.update({k: a[k] for k in SPARSIFIER_COLUMNS})
        row.update({f"null_{k}": null[key][k] if key in null else float("nan") for k in SPARSIFIER_COLUMNS})
        row["test_acc"] = acc[key]["test_acc"]
        out.append(row)
    return out
