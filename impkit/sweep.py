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

Each row also gives ``sparsity``, the first-layer sparsity of the last round measured (the same for every method),
and ``source``: "this build" for a candidate trained (or reused) now, else where its recorded row comes from.

**Recorded candidates.** A candidate whose data are not installed on every machine (Fashion-MNIST: the Debian
package ``dataset-fashion-mnist``) is not trained by ``make book``: its row is read from
``book/recorded/screen/<slug>.json`` (:data:`RECORDED`), which

    python -m impkit.sweep record fashion-mnist [--seeds 0] [--root runs] [--out book/recorded/screen]

writes with :func:`screen` itself plus the provenance the scale study records (:func:`impkit.scale.provenance`:
command, impkit commit, device, date, wall time). The file also holds the run names of the screened configs, and a
recorded row is used only for exactly those settings (preset, seeds, overrides), so the book builds the same with
or without the data installed. ``python -m impkit.sweep list`` prints the recorded candidates.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from impkit import analysis
from impkit.conditions import CLONE_SUFFIX
from impkit.data.base import DataNotFoundError
from impkit.presets import PRESETS, make_config
from impkit.runs import Run, train_configs
from impkit.verdicts import IMP, IMP_CLONE, ONESHOT, RANDOM

METHODS = ("imp", "oneshot", "random")


FORMAT = "impkit.screen/1"
RECORDED_DIR = Path(__file__).resolve().parent.parent / "book" / "recorded" / "screen"
REGENERATE = "python -m impkit.sweep record"
THIS_BUILD = "this build"


@dataclass
class Candidate:
    """A task to screen: ``dataset`` with dotted ``overrides`` on top of the preset (e.g. ``{"data.options.g": 3}``).

    ``recorded``: the slug of a recorded row (``book/recorded/screen/<slug>.json``) to read instead of training
    (None: train or reuse the runs)."""

    name: str
    dataset: str
    overrides: dict = field(default_factory=dict)
    recorded: str | None = None


# Candidates screened once and recorded (``python -m impkit.sweep record SLUG``) instead of trained in every build:
# slug -> (the candidate, the preset, the seeds it was recorded at). Fashion-MNIST: its data are a system package
# that not every machine has, and its six runs cost about 4.5 minutes of `make book` on two CPU cores. The others
# are the appendix's costlier NLGP and photo candidates: trained live they took 3.7 of the book's 15 minutes
# (fresh clone, 2026-12-06: `make book` 17.3 min in all), so the screen reads them (issue #24's budget).
_ERF = {"data.options.nonlinearity": "erf"}
RECORDED: dict[str, tuple[Candidate, str, tuple[int, ...]]] = {
    slug: (Candidate(name, dataset, overrides, recorded=slug), "default", (0,))
    for slug, name, dataset, overrides in [
        ("fashion-mnist", "Fashion-MNIST", "fashion-mnist", {}),
        ("nlgp-erf-g3", "NLGP 2-D, ξ 2 vs 3, erf g=3", "nlgp", {**_ERF, "data.options.g": 3.0}),
        ("nlgp-erf-g1", "NLGP 2-D, ξ 2 vs 3, erf g=1", "nlgp", {**_ERF, "data.options.g": 1.0}),
        ("nlgp-xi12", "NLGP 2-D, ξ 1 vs 2, erf g=10", "nlgp",
         {**_ERF, "data.options.xi0": 1.0, "data.options.xi1": 2.0}),
        ("nlgp-steps2x", "NLGP 2-D, signed square, twice the training", "nlgp",
         {"train.steps": 2 * PRESETS["default"]["train"]["steps"]}),
        ("photos-24", "photo patches 24×24, which scene", "photos", {"data.options.size": 24}),
    ]
}


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


def candidate_configs(c: Candidate, preset: str, seeds: Sequence[int],
                      methods: Sequence[str] = METHODS) -> list:
    """The run configs screening ``c`` trains: each of ``methods`` on the data and on its clone, per seed."""
    names = (c.dataset, c.dataset + CLONE_SUFFIX)
    return [make_config(preset, d, m, s, c.overrides) for d in names for m in methods for s in seeds]


def recorded_row(c: Candidate, preset: str, seeds: Sequence[int], methods: Sequence[str] = METHODS,
                 directory: str | Path | None = None) -> dict:
    """The recorded screen row of candidate ``c`` (``c.recorded``: its slug), named ``c.name``, with ``source``
    saying where and when it was computed. If the file was recorded for other settings than ``preset``, ``seeds``,
    ``methods`` and ``c.overrides`` (compared by run names), the row has a ``status`` saying so and no numbers."""
    from impkit.config import run_name
    from impkit.scale import read_summary, source_label

    path = Path(directory or RECORDED_DIR) / f"{c.recorded}.json"
    s = read_summary(path, FORMAT, REGENERATE)
    want = sorted(run_name(cfg) for cfg in candidate_configs(c, preset, seeds, methods))
    if sorted(s.get("runs", [])) != want:
        return {"candidate": c.name, "dataset": c.dataset,
                "status": f"recorded row {path} is for other settings (preset {s.get('preset')!r}, seeds "
                          f"{s.get('seeds')}); regenerate it with `{REGENERATE} {c.recorded}` for these"}
    return {**s["row"], "candidate": c.name, "source": source_label(s)}


def screen(candidates: Iterable[Candidate], preset: str, seeds: Sequence[int] = (0,), root: str = "runs",
           device: str = "auto", methods: Sequence[str] = METHODS, min_weights: int = 8,
           progress: bool = False, recorded_dir: str | Path | None = None) -> list[dict]:
    """Train (or reuse) and measure every candidate; one row per candidate (see the module docstring).

    A candidate whose data are not installed gets a row with ``status`` "data unavailable: ..." and no numbers.
    A candidate with ``recorded`` set is read from ``recorded_dir`` (default :data:`RECORDED_DIR`) by
    :func:`recorded_row`: nothing is trained or loaded for it.
    """
    out = []
    for c in candidates:
        if c.recorded:
            out.append(recorded_row(c, preset, seeds, methods, recorded_dir))
            continue
        cfgs = candidate_configs(c, preset, seeds, methods)
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
            "candidate": c.name, "dataset": c.dataset, "status": "ok", "source": THIS_BUILD,
            "image": "x".join(map(str, shape)),
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


# ------------------------------------------------------------------------------------------------
# recorded rows
# ------------------------------------------------------------------------------------------------
def record(slugs: Sequence[str], seeds: Sequence[int] | None, root: str | Path, out: str | Path, device: str,
           command: Sequence[str]) -> list[Path]:
    """Screen each recorded candidate of :data:`RECORDED` (training or reusing its runs under ``root``) and write
    ``<out>/<slug>.json``: the row, the run names it was computed from, and its provenance (command, impkit commit,
    device, date, wall time; :func:`impkit.scale.provenance`). ``seeds`` None: the candidate's own. Raises
    ValueError if a candidate's row cannot be computed (e.g. its data are not installed here)."""
    from impkit.config import run_name
    from impkit.device import resolve_device
    from impkit.scale import code_commit, provenance, write_summary

    commit = code_commit()
    paths = []
    for slug in slugs:
        cand, preset, own_seeds = RECORDED[slug]
        seeds_ = tuple(seeds) if seeds else own_seeds
        trained = Candidate(cand.name, cand.dataset, dict(cand.overrides))  # recorded=None: train it
        t0 = time.perf_counter()
        (row,) = screen([trained], preset, seeds=seeds_, root=str(root), device=device, progress=True)
        if row["status"] != "ok":
            raise ValueError(f"{slug}: {row['status']}")
        dev = str(resolve_device(None if device == "auto" else device))
        s = {"format": FORMAT, "slug": slug, "preset": preset, "seeds": list(seeds_), "methods": list(METHODS),
             "runs": sorted(run_name(c) for c in candidate_configs(trained, preset, seeds_)),
             "row": {k: v for k, v in row.items() if k not in ("candidate", "source")},
             "provenance": provenance(command, time.perf_counter() - t0, dev, commit)}
        paths.append(write_summary(s, Path(out) / f"{slug}.json"))
        print(f"{slug}: score {row['det_gap_per_min']:.3f}/min in {s['provenance']['wall_s']:.0f} s -> "
              f"{paths[-1]}", flush=True)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impkit.sweep list|record``: list the recorded candidates or (re)compute their rows."""
    p = argparse.ArgumentParser(prog="python -m impkit.sweep",
                                description="The appendix screen's recorded candidates (book/recorded/screen).")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="print the recorded candidates")
    rec = sub.add_parser("record", help="screen candidates (training or reusing their runs) and write their rows "
                                        "with provenance")
    rec.add_argument("slugs", nargs="+", help=f"candidate slugs ({', '.join(RECORDED)}), or 'recorded' for all")
    rec.add_argument("--seeds", type=int, nargs="+", default=None, help="default: the candidate's own (see list)")
    rec.add_argument("--root", default="runs", help="run store (default: runs)")
    rec.add_argument("--out", default=str(RECORDED_DIR), help="where rows go (default: book/recorded/screen)")
    rec.add_argument("--device", default="auto")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for slug, (c, preset, seeds) in RECORDED.items():
            have = (RECORDED_DIR / f"{slug}.json").exists()
            print(f"{slug:16s} {c.dataset:16s} preset {preset}, seeds {list(seeds)}, "
                  f"{'recorded' if have else 'not recorded yet'}  {c.overrides}")
        return 0
    slugs = list(RECORDED) if a.slugs == ["recorded"] else a.slugs
    unknown = [s for s in slugs if s not in RECORDED]
    if unknown:
        print(f"impkit: error: unknown recorded candidate {unknown[0]!r}; known: {', '.join(RECORDED)} "
              "(`python -m impkit.sweep list`)", file=sys.stderr)
        return 2
    try:
        record(slugs, a.seeds, a.root, a.out, a.device,
               ["python", "-m", "impkit.sweep", *(argv if argv is not None else sys.argv[1:])])
    except (ValueError, OSError) as e:
        print(f"impkit: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
