"""Is non-Gaussianity necessary? The decisive experiments of notebook 10.

The paper's C2 trains IMP on a Gaussian clone that keeps each class's mean and covariance: no local receptive
fields there would make non-Gaussian statistics necessary. Two explanations of a localising clone compete:

* **H** — IMP needs the input's higher cumulants: on a Gaussian input it finds no local RFs.
* **H′** — IMP localises wherever the class signal can be read by local filters, Gaussian or not.

Each :class:`Task` is a :class:`impkit.scale.Rung` (its data, on the ``default`` preset with its overrides) plus
options for its clone only (``fit_per_class``, ``shrinkage``): IMP, one-shot and random pruning on the data and on
the clone, :data:`SEEDS`. :func:`measure` trains the runs (missing rounds only) and reduces them with
:func:`reduce`: per condition, seed and round the paper's RF width (``sigma_paper_median``/``_mean``), the
robustness measures (``frac_detected``, ``sigma_x_mean``, ``li_mean``), test accuracy, preactivation kurtosis;
C4's cavity statistic of the IMP runs on data and clone; the local readability
(:func:`impkit.metrics.readability.local_readability`) of data and clone; and the effects and verdicts of
:mod:`impkit.verdicts` (C2a, C2b, C3a, C3b, C4 and their clone forms, the precondition, robustness). C3a/C3b/C4
are the scale study's (:func:`impkit.scale.claim_effects` on a view of these curves), not a second implementation.

The runs are too long for ``make book`` on two CPU cores. They are recorded once with

    python -m impkit.decisive record TASK [TASK ...] [--seeds 0 1 2] [--root runs] [--out book/recorded/decisive]

which writes ``<out>/<task>.json`` with provenance (:func:`impkit.scale.provenance`); the page reads them
(:func:`load_recorded`), so it builds without the Fashion-MNIST files. ``python -m impkit.decisive list`` prints
the tasks.

The reducer is this module's own, not :func:`impkit.scale.summary` (which measures every round and the robustness
measures of every comparison, too slow for seven tasks on two shared CPU cores); the claims it shares with the
scale study are judged by the scale study's functions.

Formats: ``impkit.decisive/2`` (this one: IMP, one-shot and random; C3a, C3b, C4 judged) and
``impkit.decisive/1`` (IMP and random only: C3b and C4 not judged), both read by :func:`load_recorded`.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from impkit import scale

FORMAT = "impkit.decisive/2"
# formats read back: this one and the first recordings, which had no one-shot runs (C3b, C4 not judged there)
READ_FORMATS = (FORMAT, "impkit.decisive/1")
RECORDED_DIR = Path(__file__).resolve().parent.parent / "book" / "recorded" / "decisive"
SEEDS = (0, 1, 2)
# IMP, one-shot and random masks (the paper's three). Format 1 recordings had IMP and random only (one-shot was left
# out to fit two shared CPU cores), so C3b (against one-shot) was not judged there; format 2 adds one-shot, C3b, C4.
METHODS = ("imp", "oneshot", "random")
# per-round measures of every condition, seed and round: name -> row key of impkit.analysis
MEASURES = {"sigma_paper_median": "sigma_paper_median", "sigma_paper_mean": "sigma_paper_mean",
            "frac_detected": "frac_detected", "sigma_x_mean": "sigma_x_mean", "li_mean": "li_mean",
            "test_acc": "test_acc", "kurt_class": "kurt_class"}
READ_K = 5          # window side of the local readability (px), fixed before any result
READ_ROWS = 8000    # rows of the training split it uses (half fit, a quarter select, a quarter score)
# local readability "above chance": the best window's score-split accuracy beats chance by at least this much
READ_MARGIN = 0.05
SHRINKAGE = 0.5     # the full-rank ~100-per-class clone: half its own covariance, half the pooled one
CAVITY_INPUTS = scale.CAVITY_INPUTS  # inputs for C4's cavity scores per IMP run, as in the scale study
# the claims judged as the scale study judges them (scale.claim_effects), on the data and on the clone
SCALE_CLAIMS = ("C3a", "C3b", "C4")


@dataclass(frozen=True)
class Task:
    """One decisive experiment: ``rung`` (data, overrides of the default preset), ``clone_options`` (options of
    the clone only, e.g. ``{"fit_per_class": 100}``), ``question`` it asks in words, and ``recorded_elsewhere``
    (a page or file that already holds a result of it: its prediction is then not blind)."""

    slug: str
    rung: scale.Rung
    clone_options: dict = field(default_factory=dict)
    question: str = ""
    recorded_elsewhere: str = ""
    # Gaussian data are their own clone (same means and covariances, nothing else): no clone arm is trained, C2a
    # (data vs clone) is undefined and C2b is read on the data
    own_clone: bool = False

    @property
    def label(self) -> str:
        return self.rung.level


def _fm(slug: str, level: str, clone: dict | None = None, extra: dict | None = None, q: str = "") -> Task:
    return Task(slug, scale.Rung(slug, "fashion-mnist", "decisive", level, 1.0, dict(extra or {}), recorded=True),
                dict(clone or {}), q)


def _tasks() -> list[Task]:
    R = scale.Rung
    p1 = scale.rung("dose-p1")
    return [
        _fm("fm", "Fashion-MNIST, clone per class on all rows", q="the paper's C2 on real images"),
        _fm("fm-fit100", "Fashion-MNIST, clone fitted on 100 images per class", {"fit_per_class": 100},
            q="the paper's clone: rank-99 classes, a global subspace cue"),
        _fm("fm-fit100-shrunk", f"Fashion-MNIST, 100 per class, shrinkage {SHRINKAGE:g}",
            {"fit_per_class": 100, "shrinkage": SHRINKAGE}, q="the paper's clone at full rank"),
        Task("fm-translated", R("fm-translated", "fashion-mnist-translated", "decisive",
                                "Fashion-MNIST translated, stationary clone", 1.0, recorded=True),
             question="flat means, classes differ in spectrum and beyond"),
        Task("texture-short", R("texture-short", "heavy", "decisive",
                                "Gaussian texture, classes differ at short range (NLGP p = 1)", 1.0,
                                dict(p1.overrides), recorded=True),
             question="Gaussian, class signal local", recorded_elsewhere="book/recorded/scale/dose-p1.json",
             own_clone=True),
        Task("texture-long", R("texture-long", "longrange", "decisive",
                               "Gaussian texture, classes differ only at long range", 1.0, recorded=True),
             question="Gaussian, class signal not local", own_clone=True),
        _fm("fm-shuffled", "Fashion-MNIST, shuffled training labels", extra={"data.options.shuffle_labels": True},
            q="no class signal at all (control)"),
        # the settling experiment on the paper's own task and network (Table S1): needs a GPU, never recorded here
        Task("in32", R("in32", "imagenet32", "decisive", "ImageNet32, clone per class and channel on all rows", 1.0,
                       recorded=True, preset="paper"), question="the paper's C2 at its own scale"),
        Task("in32-fit100", R("in32-fit100", "imagenet32", "decisive", "ImageNet32, clone on 100 images per class",
                              1.0, recorded=True, preset="paper"), {"fit_per_class": 100},
             question="the paper's clone at its own scale"),
    ]


TASKS: dict[str, Task] = {t.slug: t for t in _tasks()}

# The predictions, written before any result (the page states them in words): per task, the verdict each
# hypothesis predicts for C2a (IMP narrower on data than on clone), C2b (on the clone, IMP narrower than random)
# and "localises" (on the data, IMP narrower than random). "any": the hypothesis does not say.
PREDICTIONS: dict[str, dict[str, dict[str, str]]] = {
    # the clone keeps class means and covariances, which a 5 x 5 window reads: H′ says the clone localises too
    "fm": {"H": {"C2a": "reproduced", "C2b": "not reproduced", "localises": "reproduced"},
           "H′": {"C2a": "not reproduced", "C2b": "reproduced", "localises": "reproduced"}},
    "fm-fit100": {"H": {"C2a": "reproduced", "C2b": "not reproduced", "localises": "reproduced"},
                  "H′": {"C2a": "not reproduced", "C2b": "reproduced", "localises": "reproduced"}},
    "fm-fit100-shrunk": {"H": {"C2a": "reproduced", "C2b": "not reproduced", "localises": "reproduced"},
                         "H′": {"C2a": "not reproduced", "C2b": "reproduced", "localises": "reproduced"}},
    # H′ here depends on whether the stationary clone's windows read the class (measured with the results); the
    # data's best window reads it 0.150 against chance 0.113 (data-only check before these predictions), less
    # than READ_MARGIN above chance, so H′ predicts no localisation on the data either
    "fm-translated": {"H": {"C2a": "reproduced", "C2b": "not reproduced", "localises": "reproduced"},
                      "H′": {"C2a": "readability", "C2b": "readability", "localises": "not reproduced"}},
    # the data are Gaussian (their own clone): H says no local RFs at all
    "texture-short": {"H": {"C2a": "not reproduced", "C2b": "not reproduced", "localises": "not reproduced"},
                      "H′": {"C2a": "not reproduced", "C2b": "reproduced", "localises": "reproduced"}},
    "texture-long": {"H": {"C2a": "not reproduced", "C2b": "not reproduced", "localises": "not reproduced"},
                     "H′": {"C2a": "not reproduced", "C2b": "not reproduced", "localises": "not reproduced"}},
    "in32": {"H": {"C2a": "reproduced", "C2b": "not reproduced", "localises": "reproduced"},
             "H′": {"C2a": "readability", "C2b": "readability", "localises": "readability"}},
    "in32-fit100": {"H": {"C2a": "reproduced", "C2b": "not reproduced", "localises": "reproduced"},
                    "H′": {"C2a": "readability", "C2b": "readability", "localises": "readability"}},
    "fm-shuffled": {"H": {"C2a": "any", "C2b": "any", "localises": "any"},
                    "H′": {"C2a": "not reproduced", "C2b": "not reproduced", "localises": "not reproduced"}},
}


# Predictions for C3b and C4 (format 2), written AFTER the C2 results of fm, fm-fit100, fm-fit100-shrunk,
# texture-short and texture-long were known (format-1 recordings, commit c2adde0) and before any one-shot run or
# cavity score of these tasks existed. Per task, the verdict each hypothesis predicts for C3b (|κ − 3| of IMP minus
# one-shot, per-class kurtosis at the rewind point) and C4 (on-time share minus the magnitude-binned fate shuffle,
# IMP runs), on the data and on the clone ("_clone"). "any": the hypothesis does not say; "as data": the clone's
# verdict equals the data's (resolved when judged).
# * C3b on a clone or a Gaussian texture: every class is Gaussian, so every linear projection is Gaussian per class
#   and its per-class kurtosis is 3 whatever the mask: "not reproduced" under both (a check of the measure, not a
#   test between them).
# * C3b on non-Gaussian data: H (IMP seeks the higher cumulants) predicts "reproduced"; H′ says nothing ("any").
# * C4: the cavity scores use the pooled (all-class) kurtosis. H reads C4 as IMP following the input's
#   non-Gaussianity, so "reproduced" on non-Gaussian data and "not reproduced" where each class is Gaussian (the
#   clone, the textures). H′ reads it as a property of how training moves weights, the same on Gaussian inputs:
#   the clone's verdict equals the data's ("as data"), and the Gaussian texture's is "reproduced". NOT blind for
#   texture-short: its task is the Gaussian field of book/recorded/scale/dose-p1.json, where C4 is already recorded
#   reproduced (+0.42) and C3b not reproduced (+0.007).
_LATE_NONGAUSS = {"H": {"C3b": "reproduced", "C3b_clone": "not reproduced", "C4": "reproduced",
                        "C4_clone": "not reproduced"},
                  "H′": {"C3b": "any", "C3b_clone": "not reproduced", "C4": "any", "C4_clone": "as data"}}
_LATE_GAUSS = {"H": {"C3b": "not reproduced", "C4": "not reproduced"},
               "H′": {"C3b": "not reproduced", "C4": "reproduced"}}
LATE_PREDICTIONS: dict[str, dict[str, dict[str, str]]] = {
    **{s: _LATE_NONGAUSS for s in ("fm", "fm-fit100", "fm-fit100-shrunk", "fm-translated", "in32", "in32-fit100")},
    "texture-short": _LATE_GAUSS,
    # its precondition already failed (format 1): predictions written for completeness, counted for neither
    "texture-long": _LATE_GAUSS,
    # no class signal: H does not say; each clone class is the pooled Gaussian (C3b_clone by construction)
    "fm-shuffled": {"H": {"C3b": "any", "C3b_clone": "not reproduced", "C4": "any", "C4_clone": "any"},
                    "H′": {"C3b": "any", "C3b_clone": "not reproduced", "C4": "any", "C4_clone": "as data"}},
}
LATE_STATS = ("C3b", "C3b_clone", "C4", "C4_clone")


def late_prediction(slug: str, hyp: str, stat: str, effects_: dict) -> str:
    """The verdict hypothesis ``hyp`` ("H" or "H′") predicts for ``stat`` (:data:`LATE_STATS`) on task ``slug``,
    "as data" resolved by the data's verdict in ``effects_`` (claim -> Effect dict); "any" where it does not say
    (also for a statistic the task has no prediction for, e.g. a clone statistic of a Gaussian texture)."""
    p = LATE_PREDICTIONS.get(slug, {}).get(hyp, {}).get(stat, "any")
    if p == "as data":
        return effects_.get(stat.removesuffix("_clone"), {}).get("verdict", "any")
    return p


def late_tally(summaries: dict) -> dict:
    """Score :data:`LATE_PREDICTIONS` against recorded summaries (task slug -> summary of format 2; format-1 ones,
    which judge neither claim, are skipped) over the tasks whose precondition is met: ``{"H": {"agree",
    "against", "open"}, "H′": ...}`` counts and ``"rows"``, one dict per task × statistic with both predictions and
    the verdict. A prediction "any", or one resolved to "inconclusive"/"undefined" ("as data" on an inconclusive
    data verdict), is not scored; a verdict "inconclusive"/"undefined" counts as open."""
    from impkit import verdicts as V

    score = {h: {"agree": 0, "against": 0, "open": 0} for h in ("H", "H′")}
    rows = []
    for slug, s in summaries.items():
        eff = s.get("effects", {})
        if not all(k in eff for k in ("C3b", "C4")):
            continue
        met = eff["precondition"]["verdict"] == V.REPRODUCED
        for stat in LATE_STATS:
            got = eff.get(stat, {}).get("verdict", V.UNDEFINED)
            row = {"task": slug, "stat": stat, "verdict": got, "counted": met}
            for hyp in ("H", "H′"):
                pred = late_prediction(slug, hyp, stat, eff)
                row[hyp] = pred
                if not met or pred in ("any", V.INCONCLUSIVE, V.UNDEFINED):
                    continue
                if got in (V.INCONCLUSIVE, V.UNDEFINED):
                    score[hyp]["open"] += 1
                else:
                    score[hyp]["agree" if got == pred else "against"] += 1
            rows.append(row)
    return {**score, "rows": rows}


def task(slug: str) -> Task:
    """The task named ``slug``; ValueError listing the known ones."""
    if slug not in TASKS:
        raise ValueError(f"unknown task {slug!r}; known: {', '.join(TASKS)}")
    return TASKS[slug]


def configs(t: Task, seeds: Sequence[int] = SEEDS, preset: str | None = None, extra: dict | None = None) -> list:
    """Run configs of task ``t``: every method on the data and on its clone (with :attr:`Task.clone_options`), per
    seed, on ``preset`` (None: the rung's); ``extra`` overrides apply to both after the rung's."""
    from impkit.presets import make_config

    r = t.rung
    preset = preset or r.preset
    ov = {**r.all_overrides, **(extra or {})}
    cov = {**ov, **{f"data.options.{k}": v for k, v in t.clone_options.items()}}
    data = [make_config(preset, r.dataset, m, s, ov) for m in METHODS for s in seeds]
    if t.own_clone:
        return data
    return data + [make_config(preset, r.dataset + "-clone", m, s, cov) for m in METHODS for s in seeds]


# ------------------------------------------------------------------------------------------------
# the reduction
# ------------------------------------------------------------------------------------------------
def readability_of(ds, k: int = READ_K, rows: int = READ_ROWS, seed: int = 0) -> dict:
    """:func:`~impkit.metrics.readability.local_readability` of a dataset's normalised features (first ``rows``
    of a seeded permutation), without its per-window lists but with their range."""
    from impkit.metrics.readability import local_readability

    x = ds.features().cpu().numpy()
    res = local_readability(x, ds.y.cpu().numpy(), ds.image_shape, k=k, seed=seed, max_rows=rows)
    acc = np.asarray(res["acc"])
    return {"best": res["best"], "mean": res["mean"], "chance": res["chance"], "k": res["k"],
            "n_rows": res["n_rows"], "windows": len(acc), "min_window": float(acc.min()),
            "max_window": float(acc.max()), "best_window": list(res["best_window"])}


def _values(curves: dict, cond: str, measure: str) -> np.ndarray:
    return np.asarray(curves[cond][measure], dtype=float)


def _scale_view(curves: dict, suffix: str = "", c4: dict | None = None, count_null: dict | None = None) -> dict:
    """The layout of a scale-study summary (:func:`impkit.scale.summary`) for the conditions ending in ``suffix``
    ("" for the data, "_clone" for the clone), renamed to the data's slugs, so that
    :func:`impkit.scale.claim_effects` and :func:`impkit.scale.analysis_nulls` judge them: per condition the
    (seeds, R) arrays ``width_median`` / ``width_mean`` / ``kurtosis`` / ``accuracy`` from this module's
    ``sigma_paper_median`` / ``sigma_paper_mean`` / ``kurt_class`` / ``test_acc``; ``c4`` and
    ``kurtosis_count_null`` as :func:`impkit.scale.c4_shares` and the scale summary hold them."""
    names = {"width_median": "sigma_paper_median", "width_mean": "sigma_paper_mean", "kurtosis": "kurt_class",
             "accuracy": "test_acc"}
    view = {}
    for m in METHODS:
        c = curves.get(m + suffix)
        if c is not None:
            view[m] = {k: c[v] for k, v in names.items() if v in c}
    return {"curves": view, "c4": dict(c4 or {}), "kurtosis_count_null": dict(count_null or {})}


def effects(curves: dict, c4: dict | None = None, c4_clone: dict | None = None,
            count_null: dict | None = None) -> dict[str, dict]:
    """The verdicts at the last round from per-seed curves (condition slug -> measure -> (seeds, R)):

    ``C2a``/``C2b`` (:func:`impkit.verdicts.c2` on ``sigma_paper_median``), ``localises`` (σ of random minus IMP
    on the data, paired, δ = 1 px), ``precondition`` (accuracy of IMP minus random on the data, paired,
    δ = :data:`impkit.verdicts.ACCURACY_DELTA`), ``kurt_rises`` (IMP's |κ − 3| at the last round minus at round 0),
    the robustness contrasts data − clone of IMP (``detection``, ``li``: larger = more local on the data;
    ``width_x``: clone minus data σx over detected units), and, where one-shot runs are in ``curves`` (format 2),
    the scale study's ``C3a`` (one-shot minus IMP mean width), ``C3b`` (|κ − 3| of IMP minus one-shot, per-class
    kurtosis at the rewind point) and ``C4`` (``c4``: per seed the on-time share of the IMP runs and its
    magnitude-binned fate shuffle, :func:`impkit.scale.c4_shares`), each also on the clone (``C3a_clone``,
    ``C3b_clone``, ``C4_clone`` from ``c4_clone``), and ``C3b_count_null`` (C3b with IMP's masks replaced by random masks of its
    per-unit counts, from ``count_null``: ``{"seeds", "values"}``; it does not vote). Each an
    :meth:`Effect.as_dict`; a claim whose runs are missing is undefined (NaN).
    """
    from impkit import verdicts as V

    if "imp_clone" not in curves:  # Gaussian data, their own clone (Task.own_clone): C2b is read on the data
        curves = {**curves, "imp_clone": curves["imp"], "random_clone": curves["random"]}
        own = True
    else:
        own = False
    last = lambda c, m: _values(curves, c, m)[:, -1]  # noqa: E731
    out = {}
    c2 = V.c2(last("imp", "sigma_paper_median"), last("imp_clone", "sigma_paper_median"),
              last("random_clone", "sigma_paper_median"))
    out["C2a"], out["C2b"] = c2["C2a"], c2["C2b"]
    out["localises"] = V.judge_paired(last("random", "sigma_paper_median"), last("imp", "sigma_paper_median"),
                                      V.WIDTH_DELTA)
    out["localises_clone"] = c2["C2b"]
    out["precondition"] = V.judge_paired(last("imp", "test_acc"), last("random", "test_acc"), V.ACCURACY_DELTA)
    out["precondition_clone"] = V.judge_paired(last("imp_clone", "test_acc"), last("random_clone", "test_acc"),
                                               V.ACCURACY_DELTA)
    first = lambda c, m: _values(curves, c, m)[:, 0]  # noqa: E731
    kd = V.CLAIMS["C3b"].delta
    out["kurt_rises"] = V.judge_paired(V.nongaussianity(last("imp", "kurt_class")),
                                       V.nongaussianity(first("imp", "kurt_class")), kd)
    out["kurt_rises_clone"] = V.judge_paired(V.nongaussianity(last("imp_clone", "kurt_class")),
                                             V.nongaussianity(first("imp_clone", "kurt_class")), kd)
    d_det, d_w, d_li = (V.ROBUSTNESS_DELTAS[k][1] for k in ("detection rate", "width (detected units)",
                                                             "locality index"))
    out["detection"] = V.judge_unpaired(last("imp", "frac_detected"), last("imp_clone", "frac_detected"), d_det)
    out["width_x"] = V.judge_unpaired(last("imp_clone", "sigma_x_mean"), last("imp", "sigma_x_mean"), d_w)
    out["li"] = V.judge_unpaired(last("imp", "li_mean"), last("imp_clone", "li_mean"), d_li)
    if own:  # no data-vs-clone contrast exists
        for k in ("C2a", "detection", "width_x", "li", "kurt_rises_clone", "precondition_clone"):
            out[k] = V._nan_effect(out[k].delta)
    if "oneshot" in curves:  # format 2: the scale study's C3a, C3b, C4 on the data and (unless own) on the clone
        data = _scale_view(curves, "", c4, count_null)
        clone = _scale_view(curves, "_clone", c4_clone) if not own else {"curves": {}, "c4": {}}
        judged = {"": scale.claim_effects(data), "_clone": scale.claim_effects(clone)}
        for suffix, got in judged.items():
            for k in SCALE_CLAIMS:
                out[k + suffix] = got.get(k, V._nan_effect(V.CLAIMS[k].delta))
        out["C3b_count_null"] = scale.analysis_nulls(data).get("C3b", V._nan_effect(V.CLAIMS["C3b"].delta))
    return {k: e.as_dict() for k, e in out.items()}


def accuracy_overlap(curves: dict) -> dict:
    """Test-accuracy ranges over rounds of IMP on the data and on the clone (means over seeds) and their overlap
    ([lo, hi], or None where they do not overlap): locality is compared at equal accuracy only inside it."""
    a = np.nanmean(_values(curves, "imp", "test_acc"), 0)
    b = np.nanmean(_values(curves, "imp_clone" if "imp_clone" in curves else "imp", "test_acc"), 0)
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    return {"data": [float(a.min()), float(a.max())], "clone": [float(b.min()), float(b.max())],
            "overlap": [float(lo), float(hi)] if lo <= hi else None}


def reduce(runs: Sequence, rounds: Sequence[int] | None = None, device=None, readability: bool = True,
           cavity_inputs: int = CAVITY_INPUTS) -> dict:
    """Reduce one task's runs (all methods, data and clone, any seeds) to ``{"curves", "effects", "verdicts",
    "readability", "accuracy_overlap", "seeds", "image_shape", "c4", "c4_clone", "kurtosis_count_null"}`` (module
    docstring). ``curves``: condition slug -> {"rounds": (R,), "sparsity": (R,), measure of :data:`MEASURES`:
    (seeds, R)}. ``rounds``: where the per-round measures are taken (default round 0, the middle round and the
    last; no RF at round 0); kurtosis (IMP and one-shot) only at the first and last. ``c4``/``c4_clone``: C4's
    per-seed on-time share and shuffle null of the IMP runs on data / clone (:func:`impkit.scale.c4_shares` on
    ``cavity_inputs`` rows; 0 skips it); ``kurtosis_count_null``: {"seeds", "values"} of C3b's count-matched
    null (IMP on the data, last round)."""
    from impkit import analysis

    runs = list(runs)
    last = min(max(r.rounds_done) for r in runs)
    # round 0 (dense), the middle round and the last: the RF fits cost ~4 s of CPU per run and round, too much for
    # all eleven on two shared cores; the masks of round 0 are full (no RF to fit: NaN there)
    rounds = sorted(set(rounds) if rounds is not None else {0, (last + 1) // 2, last})
    loc = analysis.rf_width_rows(runs, rounds=[n for n in rounds if n > 0])
    loc += [{**analysis._rows_base(r, 0), **{k: float("nan") for k in MEASURES if k not in ("test_acc", "kurt_class")}}
            for r in runs] if 0 in rounds else []
    acc = [row for row in analysis.accuracy_rows(runs) if row["round"] in rounds]
    kr = [r for r in runs if r.method in ("imp", "oneshot")]
    kurt = analysis.kurtosis_rows(kr, rounds=[rounds[0], rounds[-1]], device=device)
    imp_data = sorted((r for r in runs if r.method == "imp" and not r.dataset.endswith("-clone")),
                      key=lambda r: r.seed)
    has_oneshot = any(r.method == "oneshot" for r in runs)
    nul = analysis.kurtosis_rows(imp_data, rounds=[rounds[-1]], device=device, count_null=True) if has_oneshot \
        else []
    count_null = {"seeds": [row["seed"] for row in nul], "values": [row["kurt_class_count_null"] for row in nul]}
    c4 = scale.c4_shares(runs, cavity_inputs, device)
    c4_clone = scale.c4_shares(runs, cavity_inputs, device, on_clone=True)
    src = {"test_acc": acc, "kurt_class": kurt}
    curves: dict[str, dict] = {}
    for name, key in MEASURES.items():
        for cond, c in analysis.curves(src.get(name, loc), key).items():
            d = curves.setdefault(cond.slug, {"rounds": c["rounds"].tolist(), "sparsity": c["sparsity"].tolist()})
            if name == "kurt_class":  # two rounds only: spread onto the round axis, NaN between
                full = np.full((c["values"].shape[0], len(d["rounds"])), np.nan)
                for j, n in enumerate(c["rounds"]):
                    full[:, d["rounds"].index(int(n))] = c["values"][:, j]
                d[name] = full.tolist()
            else:
                d[name] = c["values"].tolist()
    out = {"curves": curves, "effects": effects(curves, c4, c4_clone, count_null), "c4": c4, "c4_clone": c4_clone,
           "kurtosis_count_null": count_null, "accuracy_overlap": accuracy_overlap(curves),
           "seeds": sorted({r.seed for r in runs}), "image_shape": list(analysis.image_shape(runs[0])),
           "sparsity": float(curves["imp"]["sparsity"][-1])}
    out["verdicts"] = {k: v["verdict"] for k, v in out["effects"].items()}
    if readability:
        data = next(r for r in runs if not r.dataset.endswith("-clone") and r.seed == out["seeds"][0])
        clone = next((r for r in runs if r.dataset.endswith("-clone") and r.seed == out["seeds"][0]), data)
        out["readability"] = {"data": readability_of(data.load_data("train")),
                              "clone": readability_of(clone.load_data("train"))}
    return out


def measure(t: Task, seeds: Sequence[int] = SEEDS, root: str | Path = "runs", device: str = "auto",
            extra: dict | None = None, progress: bool = False, readability: bool = True) -> dict:
    """Train (missing rounds only) and reduce task ``t``: the summary of :func:`reduce` with the task, sizes and
    training minutes."""
    from impkit.runs import train_configs
    from impkit.sweep import training_minutes

    cfgs = configs(t, seeds, extra=extra)
    runs = train_configs(cfgs, root=root, device=device, progress=progress)
    s = reduce(runs, device=None if device == "auto" else device, readability=readability)
    shapes = [tuple(m.shape) for m in runs[0].mask(0)]
    c = cfgs[0]
    return {"format": FORMAT, "task": t.slug, "name": t.label, "question": t.question,
            "recorded_elsewhere": t.recorded_elsewhere, "rung": asdict(t.rung), "dataset": t.rung.dataset,
            "overrides": {**t.rung.all_overrides, **(extra or {})}, "clone_options": dict(t.clone_options),
            "network": [shapes[0][1], *[o for o, _ in shapes]], "steps": c.train.steps,
            "rounds": c.prune.rounds, "rate": c.prune.rate,
            "n_train": int(runs[0].load_data("train").x.shape[0]), "minutes": training_minutes(runs),
            "predictions": PREDICTIONS.get(t.slug, {}), "late_predictions": LATE_PREDICTIONS.get(t.slug, {}), **s}


# ------------------------------------------------------------------------------------------------
# recordings
# ------------------------------------------------------------------------------------------------
def read_summary(path: str | Path) -> dict:
    """A recorded summary (null -> NaN); ValueError naming the file and the command that regenerates it."""
    import json

    path = Path(path)
    try:
        s = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable decisive-experiment summary ({e}); regenerate it with "
                         f"`python -m impkit.decisive record {path.stem}`") from None
    if not isinstance(s, dict) or s.get("format") not in READ_FORMATS:
        raise ValueError(f"{path}: not a decisive-experiment summary of format {' or '.join(READ_FORMATS)}; "
                         f"regenerate it with `python -m impkit.decisive record {path.stem}`")
    return scale._nan(s)


def judges(s: dict, claim: str) -> bool:
    """Whether recorded summary ``s`` judges ``claim`` (a key of its effects): C3a/C3b/C4 and their clone forms
    only from format 2 on (format 1 had no one-shot runs and no cavity scores: "not judged")."""
    return claim in s.get("effects", {})


def load_recorded(directory: str | Path = RECORDED_DIR) -> dict[str, dict]:
    """Recorded summaries by task slug, in :data:`TASKS` order (missing ones left out), of either format of
    :data:`READ_FORMATS` (a format-1 summary has no C3a/C3b/C4 effects: :func:`judges`)."""
    directory = Path(directory)
    return {slug: read_summary(directory / f"{slug}.json") for slug in TASKS
            if (directory / f"{slug}.json").is_file()}


def record(slugs: Sequence[str], seeds: Sequence[int], root: str | Path, out: str | Path, device: str,
           command: Sequence[str]) -> list[Path]:
    """Measure each task and write ``<out>/<slug>.json`` with provenance; returns the paths."""

    commit = scale.code_commit()
    paths = []
    for slug in slugs:
        t0 = time.perf_counter()
        s = measure(task(slug), seeds=seeds, root=root, device=device, progress=False)
        paths.append(scale.write_recorded(s, Path(out) / f"{slug}.json", command, time.perf_counter() - t0, device,
                                          commit))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impkit.decisive list|record`` (module docstring)."""
    p = argparse.ArgumentParser(prog="python -m impkit.decisive", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="print the tasks")
    rec = sub.add_parser("record", help="train (or reuse) tasks and write their summaries with provenance")
    rec.add_argument("tasks", nargs="+", help="task slugs (see `list`), or 'all' (every task of the default "
                                              "preset; the ImageNet32 tasks need a GPU and the data)")
    rec.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    rec.add_argument("--root", default="runs", help="run store (default: runs)")
    rec.add_argument("--out", default=str(RECORDED_DIR), help="where summaries go (default: book/recorded/decisive)")
    rec.add_argument("--device", default="auto")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for t in TASKS.values():
            print(f"{t.slug:17s} {t.rung.dataset:26s} {t.label}  clone: {t.clone_options or '-'}  "
                  f"{t.rung.all_overrides}")
        return 0
    slugs = [s for s in TASKS if TASKS[s].rung.preset == scale.PRESET] if a.tasks == ["all"] else a.tasks
    for s in slugs:
        if s not in TASKS:
            print(f"impkit: error: unknown task {s!r}; known: {', '.join(TASKS)} (or 'all')", file=sys.stderr)
            return 2
    if len(a.seeds) < 2:
        print("impkit: error: --seeds: the verdicts need at least 2 seeds (3 recommended)", file=sys.stderr)
        return 2
    record(slugs, a.seeds, a.root, a.out, a.device, ["python", "-m", "impkit.decisive", *(argv or sys.argv[1:])])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
