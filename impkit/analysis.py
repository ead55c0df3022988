"""From run directories to the tables and curves the book plots.

The notebooks call these functions on the :class:`~impkit.runs.Run` objects returned by
:func:`impkit.runs.ensure_runs`; each returns plain rows (list of dicts, one per run × round) or curves keyed
by a label that :func:`impkit.plotting.metric_vs_sparsity` understands (``"imp"``, ``"oneshot clone"``, ...).
All first-layer quantities use layer 0; "sparsity" is the first-layer sparsity of the mask analysed.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np
import torch

from impkit.metrics import (
    cavity_by_fate_over_rounds,
    cavity_scores,
    fate_round,
    group_by_fate,
    locality_index,
    preactivation_kurtosis,
    rf_width_fit,
)
from impkit.runs import Run

METHOD_ORDER = ("imp", "oneshot", "random")


def condition_label(dataset: str, method: str) -> str:
    """Plot label of a (dataset, method) condition: ``"imp"`` for data, ``"imp clone"`` for a Gaussian clone."""
    return method + (" clone" if dataset.endswith("-clone") else "")


def group_runs(runs: Iterable[Run]) -> dict[tuple[str, str], list[Run]]:
    """Runs grouped by (dataset, method), each group sorted by seed; data before clone, IMP/one-shot/random order."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for r in runs:
        groups[(r.dataset, r.method)].append(r)
    key = lambda k: (k[0].endswith("-clone"), k[0], METHOD_ORDER.index(k[1]) if k[1] in METHOD_ORDER else 9, k[1])
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


def rf_width_rows(runs: Iterable[Run], min_weights: int = 8, rounds: Sequence[int] | None = None,
                  li_radius: float = 2.0, **fit_options) -> list[dict]:
    """Per run × round: locality of the first-layer masks m(n).

    Columns: RF width from the Gaussian fit (``impkit.metrics.rf_width_fit``: sigma_x mean/median over counted
    units, sigma_y mean, frac_detected = share of counted units with a significant Gaussian peak), the fit-free
    locality index (``impkit.metrics.locality_index``: li_mean/li_median, 1 = random), n_units and n_excluded
    (units with fewer than ``min_weights`` surviving weights, left out of both measures).
    """
    rows = []
    for r in runs:
        shape = image_shape(r)
        for n in (r.rounds_done if rounds is None else rounds):
            m0 = r.mask(n)[0]
            res = rf_width_fit(m0, shape, min_weights=min_weights, **fit_options)
            li = locality_index(m0, shape, radius=li_radius, min_weights=min_weights)
            ok = ~res.excluded
            rows.append({**_rows_base(r, n),
                         "sigma_x_mean": float(np.nanmean(res.sigma_x)) if ok.any() else float("nan"),
                         "sigma_x_median": float(np.nanmedian(res.sigma_x)) if ok.any() else float("nan"),
                         "sigma_y_mean": float(np.nanmean(res.sigma_y)) if ok.any() else float("nan"),
                         "n_units": int(len(res.sigma_x)), "n_excluded": int(res.n_excluded),
                         "frac_detected": float(res.detected[ok].mean()) if ok.any() else float("nan"),
                         "li_mean": float(np.nanmean(li)) if ok.any() else float("nan"),
                         "li_median": float(np.nanmedian(li)) if ok.any() else float("nan")})
    return rows


_SHAPES: dict[tuple, tuple[int, int, int]] = {}
_DATA_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _data_key(run: Run, split: str) -> tuple:
    c = run.config
    return (c.data.name, repr(sorted(c.data.options.items())), c.data.root, c.seed, split)


def image_shape(run: Run) -> tuple[int, int, int]:
    """(C, H, W) of the run's inputs (loads the data once, through the same cache as :func:`run_inputs`)."""
    key = _data_key(run, "train")[:3]
    if key not in _SHAPES:
        run_inputs(run)
    return _SHAPES[key]


def run_inputs(run: Run, n_inputs: int = 10000, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n_inputs`` normalised inputs (float32, CPU) and labels of the data a run was trained on.

    Cached per (dataset, options, seed, split) so that analysing many runs loads (or generates) each set once.
    """
    key = _data_key(run, split) + (n_inputs,)
    if key not in _DATA_CACHE:
        ds = run.load_data(split)
        k = min(n_inputs, len(ds))
        _DATA_CACHE[key] = (ds.features(slice(0, k)).cpu(), ds.y[:k].cpu())
        _SHAPES.setdefault(_data_key(run, "train")[:3], tuple(ds.image_shape))
    return _DATA_CACHE[key]


def clear_cache() -> None:
    """Forget cached inputs (free memory)."""
    _DATA_CACHE.clear()


def _first_layer_at_rewind(run: Run, n: int):
    """(W (H, D), b (H,), input transform) of the first layer at θ(t_rewind) ⊙ m(n)."""
    Wn, bn = run.weights(n, "rewind")[0]
    W = torch.from_numpy(np.asarray(Wn, dtype=np.float32))
    b = torch.from_numpy(np.asarray(bn, dtype=np.float32))
    transform = None
    if run.config.model.input_bn:  # the first layer sees batch-normalised pixels (paper Eq. 3 note)
        model = run.model(n, "rewind")

        def transform(x: torch.Tensor, _m=model) -> torch.Tensor:
            with torch.no_grad():
                return _m.first_layer_input(x)
    return W, b, transform


def kurtosis_rows(runs: Iterable[Run], n_inputs: int = 10000, split: str = "train",
                  rounds: Sequence[int] | None = None) -> list[dict]:
    """Per run × round n: first-layer preactivation kurtosis at the rewind point θ(t_rewind) ⊙ m(n).

    This is the network IMP trains in round n + 1 (the paper indexes it by m(n−1) at round n). Columns:
    ``kurt_all`` (mean over units of the kurtosis over all inputs) and ``kurt_class`` (per class, then averaged:
    the quantity of the paper's Fig 4B). Units without any surviving weight have constant preactivations and are
    left out (NaN).
    """
    rows = []
    for r in runs:
        x, y = run_inputs(r, n_inputs, split)
        for n in (r.rounds_done if rounds is None else rounds):
            W, b, tf = _first_layer_at_rewind(r, n)
            res = preactivation_kurtosis(W, b, x, labels=y, input_transform=tf)
            rows.append({**_rows_base(r, n), "kurt_all": res.mean_all, "kurt_class": res.mean_per_class})
    return rows


def curves(rows: Sequence[dict], key: str) -> dict[str, dict]:
    """Rows → ``{label: {"sparsity": (R,), "values": (seeds, R)}}`` for :func:`impkit.plotting.metric_vs_sparsity`.

    Rounds are aligned across seeds by round index; sparsity is the mean over seeds (it is identical by
    construction: per-layer counts are fixed by the pruning schedule).
    """
    by: dict[str, dict[int, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        by[condition_label(row["dataset"], row["method"])][row["seed"]][row["round"]] = row
    out = {}
    order = sorted(by, key=lambda l: ("clone" in l, METHOD_ORDER.index(l.split()[0])
                                      if l.split()[0] in METHOD_ORDER else 9))
    for label in order:
        seeds = sorted(by[label])
        rounds = sorted(set().union(*[by[label][s].keys() for s in seeds]))
        vals = np.array([[by[label][s].get(n, {}).get(key, np.nan) for n in rounds] for s in seeds], float)
        sp = np.array([[by[label][s].get(n, {}).get("sparsity", np.nan) for n in rounds] for s in seeds], float)
        out[label] = {"sparsity": np.nanmean(sp, 0), "values": vals, "rounds": np.array(rounds)}
    return out


def final_summary(rows: Sequence[dict], key: str, round_: int | None = None) -> dict[str, dict]:
    """Per condition label at one round (default: the last round present): mean, min, max over seeds and n."""
    out = {}
    for label, c in curves(rows, key).items():
        i = len(c["rounds"]) - 1 if round_ is None else int(np.flatnonzero(c["rounds"] == round_)[0])
        v = c["values"][:, i]
        v = v[np.isfinite(v)]
        out[label] = {"round": int(c["rounds"][i]), "sparsity": float(c["sparsity"][i]),
                      "mean": float(v.mean()) if v.size else float("nan"),
                      "min": float(v.min()) if v.size else float("nan"),
                      "max": float(v.max()) if v.size else float("nan"), "n": int(v.size)}
    return out


def cavity_analysis(run: Run, n_inputs: int = 10000, rounds: Sequence[int] | None = None,
                    split: str = "train") -> dict:
    """Cavity scores of an IMP run's first layer, grouped by the round each weight is eventually pruned ("fate").

    Scores at round n are computed at θ(t_rewind) ⊙ m(n) on the run's inputs (closed form, float64).
    Returns ``{"fate0": group_by_fate(...) at round 0 (Fig 5B), "over_rounds": cavity_by_fate_over_rounds(...)
    (Fig 5C, scaled by N_W(n) = N (1 − s)^n), "fate": (H, D) fate rounds}``.
    """
    if run.method != "imp":
        raise ValueError(f"cavity analysis needs an IMP run, got method {run.method!r} ({run.path})")
    done = run.rounds_done
    masks = [run.mask(n)[0] for n in done]
    fate = fate_round(masks)
    x, _ = run_inputs(run, n_inputs, split)
    rounds = list(done[:-1]) if rounds is None else list(rounds)
    scores = []
    for n in rounds:
        W, b, tf = _first_layer_at_rewind(run, n)
        xin = tf(x) if tf is not None else x
        scores.append(cavity_scores(W, xin, b).cpu().numpy())
    fate0 = group_by_fate(scores[0], fate, mask=masks[0]) if rounds and rounds[0] == 0 else None
    over = cavity_by_fate_over_rounds(scores, masks, prune_fraction=run.config.prune.rate)
    return {"fate0": fate0, "over_rounds": over, "fate": fate, "never": len(masks)}
