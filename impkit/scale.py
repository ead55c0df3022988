"""The scale study: how each claim's effect grows from the embedded default towards the paper's setting.

A :class:`Rung` is one experiment of the ladder: a *task* (the NLGP through a saturating erf, the book's default
until 2026-11-24; the heavy-tailed NLGP through the expanding signed square, the default since; photo patches) on
the ``default`` preset with one or more *factors* changed (input side,
hidden width, steps per round, training-set size, or several together). :func:`measure` trains or reuses IMP,
one-shot and random on the task's data and on its Gaussian clone and reduces the runs to a :func:`summary`: per
condition, seed and round the locality measures, first-layer preactivation kurtosis and test accuracy; the
last-round effect sizes behind each verdict (:func:`effects`); and the verdicts of C2, C3 (locality and kurtosis)
and C4 (cavity scores) computed by :mod:`impkit.verdicts`, exactly as the claim pages compute them.

Rungs marked ``recorded`` are too long for ``make book`` on two CPU cores. They are run once with

    python -m impkit.scale record RUNG [RUNG ...] [--seeds 0 1 2] [--root runs] [--out book/recorded/scale]

which writes ``<out>/<rung slug>.json``: the summary plus its provenance (command, impkit commit, device, torch
version, date, wall time). Nothing else writes those files; the book reads them with :func:`load_recorded` and
labels them as recorded. ``python -m impkit.scale list`` prints the ladder.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

FORMAT = "impkit.scale/2"
PRESET = "default"
RECORDED_DIR = Path(__file__).resolve().parent.parent / "book" / "recorded" / "scale"
METHODS = ("imp", "oneshot", "random")
# the primary statistics, stored for every condition, seed and round (row keys of impkit.analysis): the paper's RF
# width (median over units for C2, mean for C3a), per-class preactivation kurtosis (C3b) and test accuracy
PRIMARY = {"width_median": "sigma_paper_median", "width_mean": "sigma_paper_mean", "kurtosis": "kurt_class",
           "accuracy": "test_acc"}
# the robustness measures, at rounds 0, the middle one and the last
ROBUST = {"detection": "frac_detected", "li": "li_mean", "width_detected": "sigma_x_mean", "kurtosis_all": "kurt_all"}
CAVITY_INPUTS = 5000  # inputs for the C4 cavity scores of each IMP run (the claim page uses 20,000)

# The three tasks, each a dataset plus overrides of the default preset.
TASKS: dict[str, tuple[str, dict]] = {
    # the default preset's task until 2026-11-24: 2-D NLGP, classes xi = 2 vs 3 px, erf gain 10 (sub-Gaussian pixels)
    "nlgp": ("nlgp", {"data.options.nonlinearity": "erf", "data.options.g": 10.0}),
    # the same field through x = sign(z) z^2 (heavy-tailed pixels): the default preset's task since then
    "heavy": ("nlgp", {"data.options.nonlinearity": "power", "data.options.p": 2.0}),
    "photos": ("photos", {"data.options.size": 24}),  # grey photo patches, which of the bundled scenes
    "imagenet32": ("imagenet32", {}),  # the paper's own task, at the paper preset (the ladder's top)
    # the decisive experiments (impkit.decisive, notebook 10): real images, their translated variant, a Gaussian
    # texture whose classes differ only at long range
    "fashion-mnist": ("fashion-mnist", {"data.options.n_train": 20000, "data.options.n_test": 5000}),
    "fashion-mnist-translated": ("fashion-mnist-translated", {}),
    "longrange": ("gaussian-longrange", {}),
}
TASK_LABELS = {"nlgp": "NLGP (erf, g = 10)", "heavy": "heavy-tailed NLGP (signed square)",
               "photos": "photo patches", "imagenet32": "ImageNet32", "fashion-mnist": "Fashion-MNIST",
               "fashion-mnist-translated": "Fashion-MNIST translated", "longrange": "long-range Gaussian texture"}
# The NLGP tasks at the paper preset, whose table has no NLGP entry: the default task's field on a 32 x 32 grid, so
# that the paper's network (1024 inputs here) and training run on it (notebooks 08/09 at preset=paper).
NLGP_AT_PAPER = {"data.options.dim": 2, "data.options.L": 32, "data.options.xi0": 2.0, "data.options.xi1": 3.0,
                 "data.options.g": 10.0, "data.options.n_train": 20000, "data.options.n_test": 2000,
                 "model.input_dim": 1024, "model.output_dim": 2}


@dataclass(frozen=True)
class Rung:
    """One experiment of the ladder: ``task`` with ``overrides`` on the default preset.

    ``factor`` names what was changed ("baseline", "side", "width", "steps", "data", "all"; "paper" for the
    paper's own setting; "gain"/"power" for the dose-response points), ``level`` its value in words; ``scale``
    orders rungs of one factor (the x coordinate of the figures: e.g. the side in pixels, the hidden width, steps
    per round, training rows, pixel kurtosis); ``recorded``: too long for ``make book``, committed as a summary;
    ``preset``: the preset the overrides apply to; ``seeds``: how many seeds ``record`` trains by default.
    ``slug`` names its file.
    """

    slug: str
    task: str
    factor: str
    level: str
    scale: float
    overrides: dict = field(default_factory=dict)
    recorded: bool = False
    preset: str = PRESET
    seeds: int = 3  # seeds recorded by default: see seeds_for (5 where two seeds trained in under 3 minutes)

    @property
    def dataset(self) -> str:
        return TASKS[self.task][0]

    @property
    def all_overrides(self) -> dict:
        """The task's overrides updated with the rung's own (a rung's setting wins)."""
        return {**TASKS[self.task][1], **self.overrides}

    @property
    def name(self) -> str:
        if self.factor in ("gain", "power"):  # dose points: the level says the whole non-linearity
            return f"NLGP, {self.level}"
        if self.factor == "null":
            return f"null · {self.level}"
        return f"{TASK_LABELS[self.task]} · {self.level}"


# Training minutes of each recorded rung's 2-seed, format-1 recording (the summaries' "minutes" field at commit
# f9076ab, before the calibrated rules): the issue's rule gives a rung 5 seeds where two seeds trained in under
# 3 minutes, 3 otherwise, so the intervals narrow where seeds are cheap. Rungs first recorded in format 2 (the
# shuffled-label nulls) and rungs `make book` trains (its preset's seeds) have no entry and keep 3.
TWO_SEED_MINUTES = {"nlgp-side32": 1.56, "nlgp-width512": 10.0, "nlgp-steps8k": 2.94, "nlgp-data80k": 2.77,
                    "nlgp-all": 7.17, "heavy-steps8k": 3.78, "heavy-side32": 2.93, "photos-base": 1.58,
                    "photos-rgb32": 6.01, "dose-g3": 2.4, "dose-g1": 2.44, "dose-p1": 0.86, "dose-p1.5": 11.66,
                    "dose-p3": 1.83}
CHEAP_MINUTES = 3.0


def seeds_for(slug: str) -> int:
    """Seeds a rung records: 5 where its 2-seed recording trained in under :data:`CHEAP_MINUTES`, else 3."""
    return 5 if TWO_SEED_MINUTES.get(slug, float("inf")) < CHEAP_MINUTES else 3


def _ladder() -> list[Rung]:
    # Levels along each factor. The baseline is the default preset (24 x 24 inputs, 128 hidden units, 2,000 steps
    # per round, 20,000 training rows); the paper has 32 x 32 x 3 inputs, 1024 + 1024 hidden units, 40,000 steps
    # and 1.28 M rows. "data" = steps x batch rows (80,000 at 2,000 steps): no row is needed twice in a round.
    R = Rung
    out = [
        R("nlgp-base", "nlgp", "baseline", "baseline", 1.0),
        R("nlgp-side16", "nlgp", "side", "16×16 inputs", 16, {"data.options.L": 16}),
        R("nlgp-side32", "nlgp", "side", "32×32 inputs", 32, {"data.options.L": 32}, recorded=True),
        R("nlgp-width512", "nlgp", "width", "512 hidden units", 512, {"model.hidden": [512]}, recorded=True),
        R("nlgp-steps8k", "nlgp", "steps", "8,000 steps per round", 8000,
          {"train.steps": 8000, "train.t_rewind": 800, "train.eval_every": 2000, "train.checkpoint_every": 4000},
          recorded=True),
        R("nlgp-data80k", "nlgp", "data", "80,000 training rows", 80000, {"data.options.n_train": 80000},
          recorded=True),
        R("nlgp-all", "nlgp", "all", "32², 256 units, 6k steps, 240k rows", 4.0,
          {"data.options.L": 32, "model.hidden": [256], "train.steps": 6000, "train.t_rewind": 600,
           "train.eval_every": 2000, "train.checkpoint_every": 3000, "data.options.n_train": 240000},
          recorded=True),
        R("heavy-base", "heavy", "baseline", "baseline", 1.0),
        R("heavy-steps8k", "heavy", "steps", "8,000 steps per round", 8000,
          {"train.steps": 8000, "train.t_rewind": 800, "train.eval_every": 2000, "train.checkpoint_every": 4000},
          recorded=True),
        R("heavy-side32", "heavy", "side", "32×32 inputs", 32, {"data.options.L": 32}, recorded=True),
        R("photos-base", "photos", "baseline", "baseline, 24×24 grey", 1.0, recorded=True),
        R("photos-rgb32", "photos", "side", "32×32 RGB patches", 32,
          {"data.options.size": 32, "data.options.color": "rgb"}, recorded=True),
        # the top: Table S1 on ImageNet32; 15 h on 2 CPU cores, so recorded only from a GPU (never by "recorded")
        R("paper", "imagenet32", "paper", "the paper's setting (Table S1)", 1.0, recorded=True, preset="paper"),
    ]
    return out


def _dose() -> list[Rung]:
    # The input's non-Gaussianity, one task family: the default NLGP field through the saturating erf (gain g:
    # pixel kurtosis from 3 down to ~1) or the expanding signed power (exponent p: from 3 up). p = 1 is the
    # Gaussian field itself (its clone is the same distribution). g = 1, 3 and 10 are the appendix's candidates.
    from impkit.data.nlgp import pixel_kurtosis

    # g = 10 and p = 2 are the erf baseline and the default task, trained by `make book` anyway; the other points
    # are recorded.
    R = Rung
    out = [R(f"dose-g{g:g}", "nlgp", "gain", f"erf, g = {g:g}", pixel_kurtosis("erf", g=g), {"data.options.g": g},
             recorded=g != 10.0) for g in (10.0, 3.0, 1.0)]
    out += [R(f"dose-p{p:g}", "heavy", "power", f"signed power, p = {p:g}", pixel_kurtosis("power", p=p),
              {"data.options.p": p}, recorded=p != 2.0)
            for p in (1.0, 1.5, 2.0, 3.0)]
    return out


def _nulls() -> list[Rung]:
    # The controls every verdict must fail on. The Gaussian field (dose-p1: data and clone one distribution, no
    # higher cumulants) is a dose point; here the same tasks with shuffled training labels: whatever the masks
    # show there comes from the input statistics alone, with no class signal to read.
    R = Rung
    shuffle = {"data.options.shuffle_labels": True}
    return [R("null-shuffle-base", "heavy", "null", "shuffled labels (default task)", 1.0, shuffle, recorded=True),
            R("null-shuffle-side32", "heavy", "null", "shuffled labels, 32×32 inputs", 32,
              {**shuffle, "data.options.L": 32}, recorded=True),
            R("null-shuffle-photos", "photos", "null", "shuffled labels (photo patches)", 1.0, shuffle,
              recorded=True)]


LADDER: list[Rung] = [replace(r, seeds=seeds_for(r.slug)) for r in _ladder()]
DOSE: list[Rung] = [replace(r, seeds=seeds_for(r.slug)) for r in _dose()]
NULLS: list[Rung] = _nulls()
# the null runs' summaries: their per-seed effects feed the calibration and the null bands on the claim pages
NULL_SLUGS = ("dose-p1", "null-shuffle-base", "null-shuffle-side32", "null-shuffle-photos")


def rung(slug: str) -> Rung:
    """The rung (or dose point) named ``slug``; ValueError listing the known ones."""
    for r in LADDER + DOSE + NULLS:
        if r.slug == slug:
            return r
    raise ValueError(f"unknown rung {slug!r}; known: {', '.join(r.slug for r in LADDER + DOSE + NULLS)}")


def recorded_slugs() -> list[str]:
    """The rungs and dose points whose summaries are committed (``record recorded``): every recorded one but the
    paper rung, which needs a GPU (15 h on two CPU cores)."""
    return [r.slug for r in LADDER + DOSE + NULLS if r.recorded and r.factor != "paper"]


def at_preset(r: Rung, preset: str) -> tuple[str, dict]:
    """(preset, extra overrides) to measure rung ``r`` under ``preset``: a rung of the default preset is shrunk to
    the ``ci`` preset's sizes at ``ci`` (its own overrides still apply) and moved onto the paper's network and
    training at ``paper`` (NLGP tasks on the 32 x 32 grid of :data:`NLGP_AT_PAPER`); a rung with its own preset
    (the paper rung) keeps it."""
    if r.preset != PRESET or preset == PRESET:
        return r.preset, {}
    if preset == "paper":
        if r.task not in ("nlgp", "heavy"):
            raise ValueError(f"rung {r.slug!r} ({r.task}) has no paper-preset form; only NLGP tasks do")
        # the rung's own data options win (g, p, ...), except the grid, which fixes the network's input width
        keep = {k: v for k, v in r.all_overrides.items()
                if k.startswith("data.options.") and k not in ("data.options.L", "data.options.dim")}
        return "paper", {**NLGP_AT_PAPER, **keep}
    return preset, {}


# ------------------------------------------------------------------------------------------------
# measuring a rung
# ------------------------------------------------------------------------------------------------
def configs(r: Rung, seeds: Sequence[int], preset: str | None = None, extra: dict | None = None) -> list:
    """The run configs of rung ``r`` under ``preset`` (None: the rung's): every method of :data:`METHODS` on the
    data and its clone, per seed; ``extra`` overrides are applied after the rung's."""
    from impkit.presets import make_config

    preset = preset or r.preset
    ov = {**r.all_overrides, **(extra or {})}
    return [make_config(preset, d, m, s, ov) for d in (r.dataset, r.dataset + "-clone") for m in METHODS
            for s in seeds]


def _cond_key(cond) -> str:
    return cond.slug  # "imp", "oneshot", "random", "imp_clone", ...


def summary(runs: Sequence, cavity_inputs: int = CAVITY_INPUTS, device=None, every_round: bool = True) -> dict:
    """Reduce the runs of one rung (all methods, data and clone, any seeds) to a JSON-able summary.

    ``curves``: condition slug -> {"rounds": (R,) every round, "sparsity": (R,), "seeds": (S,), and per
    :data:`PRIMARY` statistic (S, R)}: the primary statistics per seed at every round, so that a later rule
    change needs no retraining (``every_round`` False: at rounds 0, the middle one and the last only, which carry
    every verdict: the book's own rungs, where an analysis of every round would not fit ``make book``); ``robust_curves``: the same for :data:`ROBUST` at rounds 0, the middle one and the
    last; ``c4``: per seed the on-time share and its shuffle null (:func:`c4_shares`); ``claims``: claim key ->
    :class:`impkit.verdicts.Effect` (as a dict) at the last round (:func:`claim_effects`); ``verdicts``: claim key ->
    verdict; ``robustness``: measure -> comparison -> Effect; ``accuracy``: condition slug -> {"dense", "final"}
    summaries over seeds.
    """
    from impkit import analysis

    runs = list(runs)
    last = min(max(r.rounds_done) for r in runs)
    # The robustness measures (detection scan, fit with background, locality index) at three rounds; the primary
    # statistics at every round (recorded summaries) or at the same three.
    few = sorted({0, (last + 1) // 2, last})
    every = list(range(last + 1)) if every_round else few
    loc = analysis.rf_width_rows(runs, rounds=few)
    paper = analysis.paper_width_rows(runs, rounds=[n for n in every if n not in few]) + loc
    acc = [row for row in analysis.accuracy_rows(runs) if row["round"] <= last]
    kurt = analysis.kurtosis_rows(runs, rounds=every, device=device)
    # C3b's analysis-only null: IMP's per-unit counts at random positions, at the last round (IMP on the data)
    imp_runs = [r for r in runs if r.method == "imp" and not r.dataset.endswith("-clone")]
    count_null = analysis.kurtosis_rows(imp_runs, rounds=[last], device=device, count_null=True)
    rows = {"width_median": paper, "width_mean": paper, "kurtosis": kurt, "accuracy": acc,
            "detection": loc, "li": loc, "width_detected": loc, "kurtosis_all": kurt}
    curves: dict[str, dict] = {}
    robust: dict[str, dict] = {}
    for target, table in ((curves, PRIMARY), (robust, ROBUST)):
        for m, key in table.items():
            for cond, c in analysis.curves(rows[m], key).items():
                d = target.setdefault(_cond_key(cond), {"rounds": c["rounds"].tolist(),
                                                         "sparsity": c["sparsity"].tolist(),
                                                         "seeds": sorted({r.seed for r in runs})})
                d[m] = c["values"].tolist()
    out = {
        "curves": curves, "robust_curves": robust, "c4": c4_shares(runs, cavity_inputs, device),
        "kurtosis_count_null": {"seeds": [row["seed"] for row in sorted(count_null, key=lambda x: x["seed"])],
                                "values": [row["kurt_class_count_null"]
                                           for row in sorted(count_null, key=lambda x: x["seed"])]},
        "sparsity": float(curves["imp"]["sparsity"][-1]) if "imp" in curves else float("nan"),
        "image_shape": list(analysis.image_shape(runs[0])),
        "seeds": sorted({r.seed for r in runs}),
    }
    effects_ = claim_effects(out)
    out["claims"] = {k: e.as_dict() for k, e in effects_.items()}
    out["analysis_nulls"] = {k: e.as_dict() for k, e in analysis_nulls(out).items()}
    out["verdicts"] = {k: e.verdict for k, e in effects_.items()}
    out["robustness"] = {m: {c: e.as_dict() for c, e in comp.items()} for m, comp in robustness(out).items()}
    out["accuracy"] = accuracy_summary(out)
    return out


def c4_shares(runs: Sequence, n_inputs: int, device, on_clone: bool = False) -> dict:
    """C4 on the IMP runs on the data (``on_clone``: on the clone), as notebook 06 computes it (cavity scores on
    ``n_inputs`` rows; 0: skipped): per seed the share of fate groups positive the round before removal and its
    magnitude-binned shuffle null, plus the descriptive Fig 5B trend (means over seeds)."""
    from impkit import analysis, verdicts

    imp = sorted((r for r in runs if r.method == "imp" and r.dataset.endswith("-clone") == on_clone),
                 key=lambda r: r.seed)
    if not imp or n_inputs <= 0:  # no IMP run on the data, or C4 not asked (n_inputs 0)
        return {"seeds": [], "on_time_share": [], "shuffled_share": []}
    res = [analysis.cavity_analysis(r, n_inputs=n_inputs, device=device) for r in imp]
    fates = res[0]["fate0"]["fate"]
    trend = verdicts.c4_fate_trend(fates, np.array([x["fate0"]["mean"] for x in res]).mean(0),
                                   np.array([x["fate0"]["frac_pos"] for x in res]).mean(0), res[0]["never"])
    return {"seeds": [r.seed for r in imp], "on_time_share": [x["on_time_share"] for x in res],
            "shuffled_share": [x["shuffled_share"] for x in res],
            "early": float(trend.early), "late": float(trend.late), "rho": float(trend.rho_sign)}


def _last(s: dict, cond: str, measure: str, curves: str = "curves") -> np.ndarray:
    """(seeds,) values of ``measure`` for condition ``cond`` at the last round (empty if absent)."""
    c = s.get(curves, {}).get(cond, {})
    v = c.get(measure)
    return np.asarray(v, dtype=float)[:, -1] if v is not None and len(v) else np.array([])


def claim_effects(s: dict) -> dict:
    """Claim key -> :class:`impkit.verdicts.Effect` at the last round of summary ``s``, from its per-seed primary
    statistics: C2a/C2b (median paper width), C3a (mean paper width), C3b (per-class kurtosis), C4 (on-time share
    against its shuffle null). A claim whose conditions are missing is left out."""
    from impkit import verdicts as V

    c = s["curves"]
    out = {}
    if {"imp", "imp_clone", "random_clone"} <= c.keys():
        out.update(V.c2(_last(s, "imp", "width_median"), _last(s, "imp_clone", "width_median"),
                        _last(s, "random_clone", "width_median")))
    if {"imp", "oneshot"} <= c.keys():
        out["C3a"] = V.c3a(_last(s, "imp", "width_mean"), _last(s, "oneshot", "width_mean"))
        out["C3b"] = V.c3b(_last(s, "imp", "kurtosis"), _last(s, "oneshot", "kurtosis"))
    c4 = s.get("c4", {})
    if c4.get("on_time_share"):
        out["C4"] = V.c4(c4["on_time_share"], c4["shuffled_share"])
    return out


def with_seeds(s: dict, keep: Sequence[int]) -> dict:
    """Summary ``s`` restricted to the seeds in ``keep``: every condition's per-seed curves (rows of its (S, R)
    arrays) and C4's per-seed shares. :func:`claim_effects` on the result judges the claims as a recording with
    those seeds alone would have (e.g. a 5-seed rung's first 3 seeds, against the verdict of all 5)."""
    keep = {int(k) for k in keep}
    out = dict(s)
    curves = {}
    for cond, c in s.get("curves", {}).items():
        rows = [i for i, sd in enumerate(c.get("seeds", [])) if int(sd) in keep]
        curves[cond] = {k: ([v[i] for i in rows] if k not in ("rounds", "sparsity", "seeds") and isinstance(v, list)
                            and len(v) == len(c["seeds"]) else v) for k, v in c.items()}
        curves[cond]["seeds"] = [c["seeds"][i] for i in rows]
    out["curves"] = curves
    c4 = dict(s.get("c4", {}))
    if c4.get("seeds"):
        rows = [i for i, sd in enumerate(c4["seeds"]) if int(sd) in keep]
        for k in ("seeds", "on_time_share", "shuffled_share"):
            c4[k] = [c4[k][i] for i in rows]
    out["c4"] = c4
    out["seeds"] = [sd for sd in s.get("seeds", []) if int(sd) in keep]
    return out


def analysis_nulls(s: dict) -> dict:
    """The nulls computed from the runs themselves, as effects on their claim's axis (no retraining): ``"C3b"``,
    the C3b effect with IMP's masks replaced by random masks of IMP's per-unit counts, |κ_null − 3| − |κ_one-shot −
    3| (if IMP's effect lies within this band, its per-unit counts explain it). C4's null (the magnitude-binned fate
    shuffle) is inside C4's effect already."""
    from impkit import verdicts as V

    kn = s.get("kurtosis_count_null", {}).get("values") or []
    one = _last(s, "oneshot", "kurtosis")
    if not len(kn) or len(kn) != one.size:
        return {}
    return {"C3b": V.c3b(np.asarray(kn, dtype=float), one)}


# robustness comparisons: name -> (condition a, condition b, paired); "a more local than b"
ROBUST_COMPARISONS = {"IMP vs one-shot": ("imp", "oneshot", True), "IMP vs random": ("imp", "random", True),
                      "IMP data vs clone": ("imp", "imp_clone", False),
                      "IMP clone vs random": ("imp_clone", "random_clone", True)}
_ROBUST_MEASURE = {"detection rate": "detection", "width (detected units)": "width_detected", "locality index": "li"}


def robustness(s: dict) -> dict:
    """measure name (:data:`impkit.verdicts.ROBUSTNESS_DELTAS`) -> comparison (:data:`ROBUST_COMPARISONS`) ->
    Effect at the last round, oriented so that positive = a more local than b. They are shown, never vote."""
    from impkit import verdicts as V

    out = {}
    for name, (larger, delta) in V.ROBUSTNESS_DELTAS.items():
        m = _ROBUST_MEASURE[name]
        comp = {}
        for label, (a, b, paired) in ROBUST_COMPARISONS.items():
            va, vb = _last(s, a, m, "robust_curves"), _last(s, b, m, "robust_curves")
            if va.size and vb.size:
                comp[label] = V.judge_pair(va, vb, delta, paired) if larger else V.judge_pair(vb, va, delta, paired)
        out[name] = comp
    return out


def accuracy_summary(s: dict) -> dict:
    """condition slug -> {"dense": summary at round 0, "final": summary at the last round} of test accuracy."""
    from impkit.verdicts import summarize

    out = {}
    for cond, c in s["curves"].items():
        a = np.asarray(c.get("accuracy", []), dtype=float)
        if a.size:
            out[cond] = {"dense": summarize(a[:, 0]), "final": summarize(a[:, -1])}
    return out


def effects(s: dict) -> dict[str, float]:
    """Mean effects at the last round, for tables: each claim's (``C2a``, ``C2b``, ``C3a``, ``C3b``, ``C4``) and
    ``acc_imp`` / ``acc_dense`` (IMP's test accuracy at the last round and round 0, means over seeds)."""
    out = {k: float(e["mean"]) for k, e in s.get("claims", {}).items()}
    acc = s.get("accuracy", {}).get("imp", {})
    out["acc_imp"] = float(acc.get("final", {}).get("mean", float("nan")))
    out["acc_dense"] = float(acc.get("dense", {}).get("mean", float("nan")))
    return out


def seed_effects(s: dict) -> dict[str, np.ndarray]:
    """Per-seed effects (seeds,) at the last round: each claim's per-seed values (C2a, which is unpaired, as the
    difference clone − data by seed index), for comparing a claim's effect across rungs."""
    out = {k: np.asarray(e["values"], dtype=float) for k, e in s.get("claims", {}).items() if e.get("values")}
    if "C2a" in s.get("claims", {}):
        a, b = _last(s, "imp_clone", "width_median"), _last(s, "imp", "width_median")
        n = min(a.size, b.size)
        out["C2a"] = a[:n] - b[:n]
    return out


def null_pools(directory: str | Path = RECORDED_DIR, slugs: Sequence[str] = NULL_SLUGS) -> dict[str, np.ndarray]:
    """Claim key -> per-seed effects of the recorded null runs (``slugs`` found in ``directory``), each null's
    values centred on their own mean: resampling them draws data sets with that null's seed-to-seed spread and no
    true effect (the bootstrap under the null hypothesis), for :func:`impkit.verdicts.calibrate`. For the unpaired
    C2a, the pool holds the centred widths of both sides."""
    pools: dict[str, list] = {}
    for slug, s in load_recorded(directory, slugs).items():
        if "claims" not in s:
            continue
        for k, v in seed_effects(s).items():
            v = v[np.isfinite(v)]
            if k == "C2a":
                v = np.concatenate([x[np.isfinite(x)] - np.nanmean(x) for x in
                                    (_last(s, "imp_clone", "width_median"), _last(s, "imp", "width_median"))
                                    if np.isfinite(x).any()] or [np.array([])])
            elif v.size:
                v = v - v.mean()
            if v.size >= 2:
                pools.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in pools.items()}


def _analysis_code() -> str:
    """A hash of the code a summary is computed by (this module, the analysis, the metrics and the verdicts): a
    cached summary from other code is never read back."""
    import hashlib

    pkg = Path(__file__).resolve().parent
    files = [pkg / "scale.py", pkg / "analysis.py", pkg / "verdicts.py", *sorted((pkg / "metrics").glob("*.py"))]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def _summary_key(runs: Sequence, cavity_inputs: int, every_round: bool) -> str:
    """A hash of what a summary depends on: each run's config and completed rounds, and the analysis settings."""
    import hashlib

    parts = sorted(json.dumps([r.config.to_dict(), list(r.rounds_done)], sort_keys=True, default=str) for r in runs)
    raw = json.dumps([FORMAT, _analysis_code(), parts, int(cavity_inputs), bool(every_round)], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def null_effects(directory: str | Path = RECORDED_DIR, slugs: Sequence[str] = NULL_SLUGS) -> dict[str, dict]:
    """Null slug -> claim key -> Effect dict of the recorded null runs: the null bands of the claim pages (their
    [lo, hi]) and their own verdicts (expected: not reproduced or inconclusive)."""
    return {slug: s["claims"] for slug, s in load_recorded(directory, slugs).items() if "claims" in s}


def measure(r: Rung, seeds: Sequence[int] = (0, 1), root: str | Path = "runs", device: str = "auto",
            preset: str | None = None, extra: dict | None = None, progress: bool = False,
            cavity_inputs: int = CAVITY_INPUTS, every_round: bool = True) -> dict:
    """Train (missing rounds only) and summarise rung ``r``: ``{"rung": ..., "preset", "overrides", "shape",
    "minutes", **summary(...)}``. ``extra``: further dotted overrides (e.g. the smoke pass's few steps);
    ``every_round``: primary statistics at every round (recordings) or at three (the book's own rungs).

    The summary is cached next to the runs (``<root>/.summaries/<key>.json``, keyed by the runs' configs, their
    rounds and the analysis settings), so pages that measure the same rung share one analysis; a run with new
    rounds gets a new key."""
    from impkit.runs import train_configs
    from impkit.sweep import training_minutes

    preset = preset or r.preset
    cfgs = configs(r, seeds, preset, extra)
    runs = train_configs(cfgs, root=root, device=device, progress=progress)
    dev = None if device == "auto" else device
    key = _summary_key(runs, cavity_inputs, every_round)
    cached = Path(root) / ".summaries" / f"{key}.json"
    if cached.is_file():
        try:
            s = read_summary(cached, FORMAT)
        except ValueError:  # unreadable or another format: recompute
            s = None
    else:
        s = None
    if s is None:
        s = {"format": FORMAT, **summary(runs, cavity_inputs=cavity_inputs, device=dev, every_round=every_round)}
        write_summary(s, cached)
    s = {k: v for k, v in s.items() if k != "format"}
    shapes = [tuple(m.shape) for m in runs[0].mask(0)]  # (out, in) per layer
    return {"format": FORMAT, "rung": asdict(r), "name": r.name, "preset": preset,
            "overrides": {**r.all_overrides, **(extra or {})},
            "network": [shapes[0][1], *[o for o, _ in shapes]], "steps": cfgs[0].train.steps, "n_train": int(runs[0].load_data("train").x.shape[0]),
            "minutes": training_minutes(runs), **s}


# ------------------------------------------------------------------------------------------------
# recorded summaries
# ------------------------------------------------------------------------------------------------
def code_commit() -> str:
    """impkit's git commit now, ``+dirty`` if ``impkit/`` has uncommitted changes (``unknown`` outside git).
    Taken when a recording starts, since the code that runs is the code imported then."""
    here = Path(__file__).resolve().parent.parent

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=here, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no", "--", "impkit"):
        commit += "+dirty"
    return commit


def provenance(command: Sequence[str], wall_s: float, device: str, commit: str) -> dict:
    """Where a recorded summary came from: the command, impkit's git ``commit`` (:func:`code_commit` at the
    start), device, torch version, host platform, UTC date and wall time."""
    import torch

    return {"command": " ".join(command), "commit": commit, "device": device, "torch": torch.__version__,
            "platform": platform.platform(), "cpu_threads": torch.get_num_threads(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "wall_s": round(wall_s, 1)}


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def write_summary(s: dict, path: str | Path) -> Path:
    """Write summary ``s`` as JSON (NaN -> null) atomically to ``path``."""
    from impkit.store import atomic_write_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(_jsonable(s), indent=1, sort_keys=True) + "\n").encode())
    return path


def _nan(x):
    if isinstance(x, dict):
        return {k: _nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan(v) for v in x]
    return float("nan") if x is None else x


# formats read back: this one, and the summaries recorded before the calibrated rules (listed by the pages as not
# judged: they hold no per-seed primary statistics)
READ_FORMATS = (FORMAT, "impkit.scale/1")


def read_summary(path: str | Path, fmt: str | tuple = READ_FORMATS,
                 regenerate: str = "python -m impkit.scale record") -> dict:
    """A summary written by :func:`write_summary` (null -> NaN) of format ``fmt`` (one or a tuple: the scale
    study's, or e.g. :data:`impkit.sweep.FORMAT` for a recorded screen row); ValueError naming the file and
    ``regenerate SLUG`` if it is not one."""
    fmts = (fmt,) if isinstance(fmt, str) else tuple(fmt)
    path = Path(path)
    fix = f"regenerate it with `{regenerate} {path.stem}`"
    try:
        s = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable recorded summary ({e}); {fix}") from None
    if not isinstance(s, dict) or s.get("format") not in fmts:
        raise ValueError(f"{path}: not a recorded summary of format {' or '.join(fmts)}; {fix}")
    return _nan(s)


def source_label(s: dict) -> str:
    """Where summary ``s`` comes from, for tables: "this build" (measured now), or "recorded DATE, DEVICE, N min"
    from the provenance :func:`record` wrote, N the recording's wall time. Where the summary's own training time
    (``minutes``: every run's share of its batches, whenever trained) differs from it by a minute or more, it is
    given too: a recording that reused runs of an earlier one (e.g. seeds added) took less wall time than its runs
    cost, and one on contended cores took more."""
    pv = s.get("provenance")
    if not pv:
        return "this build"
    minutes = (pv.get("wall_s") or float("nan")) / 60
    out = f"recorded {str(pv.get('date', '?'))[:10]}, {pv.get('device', '?')}, {minutes:.0f} min"
    training = float(s.get("minutes") or float("nan"))
    if np.isfinite(training) and np.isfinite(minutes) and abs(round(training) - round(minutes)) >= 1:
        out += f" ({training:.0f} min of training)"
    return out


def load_recorded(directory: str | Path = RECORDED_DIR, slugs: Iterable[str] | None = None) -> dict[str, dict]:
    """Recorded summaries in ``directory`` by rung slug (only ``slugs`` if given; missing files are skipped)."""
    directory = Path(directory)
    want = None if slugs is None else set(slugs)
    out = {}
    for p in sorted(directory.glob("*.json")):
        if want is None or p.stem in want:
            out[p.stem] = read_summary(p)
    return out


def record(slugs: Sequence[str], seeds: Sequence[int] | None, root: str | Path, out: str | Path, device: str,
           command: Sequence[str]) -> list[Path]:
    """Measure each rung and write ``<out>/<slug>.json`` with its provenance; returns the paths. ``seeds`` None:
    each rung's own number (:attr:`Rung.seeds`, seeds 0, 1, ...)."""
    commit = code_commit()
    paths = []
    for slug in slugs:
        r = rung(slug)
        t0 = time.perf_counter()
        s = measure(r, seeds=list(range(r.seeds)) if seeds is None else seeds, root=root, device=device,
                    progress=True)
        paths.append(write_recorded(s, Path(out) / f"{slug}.json", command, time.perf_counter() - t0, device,
                                    commit))
    return paths


def write_recorded(s: dict, path: Path, command: Sequence[str], wall_s: float, device: str, commit: str) -> Path:
    """Add the :func:`provenance` to summary ``s``, write it to ``path`` and print one line with its verdicts (the
    last step of every ``record`` command: the scale study's and the decisive experiments')."""
    from impkit.device import resolve_device

    dev = str(resolve_device(None if device == "auto" else device))
    s["provenance"] = provenance(command, wall_s, dev, commit)
    path = write_summary(s, path)
    print(f"{path.stem}: {s.get('verdicts')} in {s['provenance']['wall_s']:.0f} s -> {path}", flush=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impkit.scale list|record``: print the ladder or record rungs (module docstring)."""
    p = argparse.ArgumentParser(prog="python -m impkit.scale", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="print the ladder")
    rec = sub.add_parser("record", help="train (or reuse) rungs and write their summaries with provenance")
    rec.add_argument("rungs", nargs="+", help="rung slugs (see `list`), or 'recorded' for every recorded rung and "
                                              "dose point but the paper's (which needs a GPU)")
    rec.add_argument("--seeds", type=int, nargs="+", default=None,
                     help="seeds (default: the rung's own number, 3, or 5 where two seeds took under 3 minutes)")
    rec.add_argument("--root", default="runs", help="run store (default: runs)")
    rec.add_argument("--out", default=str(RECORDED_DIR), help="where summaries go (default: book/recorded/scale)")
    rec.add_argument("--device", default="auto")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for r in LADDER + DOSE + NULLS:
            print(f"{r.slug:16s} {'recorded' if r.recorded else 'make book':9s} {r.name}  {r.all_overrides}")
        return 0
    slugs = a.rungs if a.rungs != ["recorded"] else recorded_slugs()
    try:
        for s in slugs:
            rung(s)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    record(slugs, a.seeds, a.root, a.out, a.device, ["python", "-m", "impkit.scale", *(argv or sys.argv[1:])])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
