"""Screening candidate tasks for the embedded default (the book's appendix "Choosing the default").

A :class:`Candidate` is a dataset plus config overrides on top of a preset. :func:`screen` trains IMP, one-shot and
random on the candidate's data and on its Gaussian clone (reusing runs that exist), measures the first-layer
locality at the last round, and scores the candidate by how strongly the paper's contrasts show per minute of
training:

* ``det_gap`` = min(det_IMP − det_random, det_IMP − det_IMP,clone), with det the share of first-layer units whose
  mask has a detected local peak (:func:`impkit.metrics.rf_width_fit`; random masks: about 0.05) — the locality
  contrasts of C3 (IMP vs random) and C2 (data vs clone) as fractions of units, so that tasks of different sizes
  compare; the smaller of the two, since a useful task must show both. This is the screen's score: it is defined
  for every condition, whereas an RF width exists only where some units have a peak;
* ``li_gap`` = min(LI_IMP − LI_random, LI_IMP − LI_IMP,clone) — the same in the locality index (1 = random);
* ``gap_random`` = (σ_random − σ_IMP) / image side, ``gap_clone`` = (σ_IMP,clone − σ_IMP) / image side and
  ``width_gap`` (the smaller) — the same contrasts in RF width over detected units, NaN where a width is undefined;
* ``*_per_min`` = a gap divided by the candidate's training time in minutes.

Each row also gives ``sparsity``, the first-layer sparsity of the last round measured (the same for every method).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from impkit import analysis
from impkit.conditions import CLONE_SUFFIX
from impkit.data.base import DataNotFoundError
from impkit.presets import make_config
from impkit.runs import Run, train_configs
from impkit.verdicts import IMP, IMP_CLONE, ONESHOT, RANDOM


@dataclass
class Candidate:
    """A task to screen: ``dataset`` with dotted ``overrides`` on top of the preset (e.g. ``{"data.options.g": 3}``)."""

    name: str
    dataset: str
    overrides: dict = field(default_factory=dict)


def training_minutes(runs: Sequence[Run]) -> float:
    """Wall time attributable to training ``runs`` (minutes).

    Each run's ``metrics.json`` records the wall time of the replica batch it trained in and the batch size. Per
    round, a batch's time is shared equally among its replicas and this candidate's share is summed, so a candidate
    that trained inside a larger batch (e.g. the default task, reused from the main experiment) is charged only
    for its own replicas. Round 0 is trained once per (dataset, seed) and shared by the methods.
    """
    total = 0.0
    rounds = sorted(set().union(*[r.rounds_done for r in runs]))
    for n in rounds:
        done = [r for r in runs if n in r.rounds_done]
        if n == 0:  # one dense replica per (dataset, seed), copied to the other methods
            done = list({(r.dataset, r.seed): r for r in done}.values())
        for r in done:
            m = r.metrics(n)
            total += float(m.get("wall_s", 0.0)) / max(int(m.get("replicas_in_batch", 1)), 1)
    return total / 60.0


def screen(candidates: Iterable[Candidate], preset: str, seeds: Sequence[int] = (0,), root: str = "runs",
           device: str = "auto", methods: Sequence[str] = ("imp", "oneshot", "random"), min_weights: int = 8,
           progress: bool = False) -> list[dict]:
    """Train (or reuse) and measure every candidate; one row per candidate (see the module docstring).

    A candidate whose data are not installed gets a row with ``status`` "data unavailable: ..." and no numbers.
    """
    out = []
    for c in candidates:
        names = (c.dataset, c.dataset + CLONE_SUFFIX)
        cfgs = [make_config(preset, d, m, s, c.overrides) for d in names for m in methods for s in seeds]
        try:
            runs = train_configs(cfgs, root=root, device=device, progress=progress)
        except DataNotFoundError as err:  # data not installed here (e.g. Fashion-MNIST): report, don't stop
            out.append({"candidate": c.name, "dataset": c.dataset, "status": f"data unavailable: {err}"})
            continue
        loc = analysis.rf_width_rows(runs, min_weights=min_weights)
        acc = analysis.accuracy_rows(runs)
        w = {k: v["mean"] for k, v in analysis.final_summary(loc, "sigma_x_mean").items()}
        det = {k: v["mean"] for k, v in analysis.final_summary(loc, "frac_detected").items()}
        li = {k: v["mean"] for k, v in analysis.final_summary(loc, "li_mean").items()}
        a = analysis.final_summary(acc, "test_acc")
        dense = float(np.mean([r["test_acc"] for r in acc if r["round"] == 0 and r["dataset"] == c.dataset]))
        shape = analysis.image_shape(runs[0])
        side = max(shape[1:])
        minutes = training_minutes(runs)
        gap_random = (w[RANDOM] - w[IMP]) / side
        gap_clone = (w[IMP_CLONE] - w[IMP]) / side
        width_gap = min(gap_random, gap_clone) if np.isfinite([gap_random, gap_clone]).all() else float("nan")
        det_gap = min(det[IMP] - det[RANDOM], det[IMP] - det[IMP_CLONE])
        li_gap = min(li[IMP] - li[RANDOM], li[IMP] - li[IMP_CLONE])
        out.append({
            "candidate": c.name, "dataset": c.dataset, "status": "ok", "image": "x".join(map(str, shape)),
            "classes": int(runs[0].mask(0)[-1].shape[0]),
            "dense_acc": dense, "imp_acc": a[IMP]["mean"], "random_acc": a[RANDOM]["mean"],
            "sparsity": a[IMP]["sparsity"],
            "sigma_imp": w[IMP], "sigma_oneshot": w[ONESHOT], "sigma_random": w[RANDOM],
            "sigma_imp_clone": w[IMP_CLONE],
            "det_imp": det[IMP], "det_oneshot": det[ONESHOT], "det_random": det[RANDOM],
            "det_imp_clone": det[IMP_CLONE],
            "li_imp": li[IMP], "li_oneshot": li[ONESHOT], "li_random": li[RANDOM], "li_imp_clone": li[IMP_CLONE],
            "gap_random": gap_random, "gap_clone": gap_clone, "width_gap": width_gap, "det_gap": det_gap,
            "li_gap": li_gap, "minutes": minutes,
            "det_gap_per_min": det_gap / minutes if minutes > 0 else float("nan"),
            "width_gap_per_min": width_gap / minutes if minutes > 0 else float("nan"),
            "li_gap_per_min": li_gap / minutes if minutes > 0 else float("nan"),
        })
    return out
