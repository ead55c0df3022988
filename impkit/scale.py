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

    python -m impkit.scale record RUNG [RUNG ...] [--seeds 0 1] [--root runs] [--out book/recorded/scale]

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

FORMAT = "impkit.scale/1"
PRESET = "default"
RECORDED_DIR = Path(__file__).resolve().parent.parent / "book" / "recorded" / "scale"
METHODS = ("imp", "oneshot", "random")
# per-round measures stored for every condition, seed and round (row keys of impkit.analysis)
MEASURES = {"detection": "frac_detected", "li": "li_mean", "width": "sigma_x_mean", "accuracy": "test_acc",
            "kurtosis": "kurt_class", "kurtosis_all": "kurt_all"}
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
    ``preset``: the preset the overrides apply to. ``slug`` names its file.
    """

    slug: str
    task: str
    factor: str
    level: str
    scale: float
    overrides: dict = field(default_factory=dict)
    recorded: bool = False
    preset: str = PRESET

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
        return f"{TASK_LABELS[self.task]} · {self.level}"


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
              {"data.options.p": p}, recorded=p != 2.0) for p in (1.0, 1.5, 2.0, 3.0)]
    return out


LADDER: list[Rung] = _ladder()
DOSE: list[Rung] = _dose()


def rung(slug: str) -> Rung:
    """The rung (or dose point) named ``slug``; ValueError listing the known ones."""
    for r in LADDER + DOSE:
        if r.slug == slug:
            return r
    raise ValueError(f"unknown rung {slug!r}; known: {', '.join(r.slug for r in LADDER + DOSE)}")


def recorded_slugs() -> list[str]:
    """The rungs and dose points whose summaries are committed (``record recorded``): every recorded one but the
    paper rung, which needs a GPU (15 h on two CPU cores)."""
    return [r.slug for r in LADDER + DOSE if r.recorded and r.factor != "paper"]


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


def summary(runs: Sequence, cavity_inputs: int = CAVITY_INPUTS, device=None) -> dict:
    """Reduce the runs of one rung (all methods, data and clone, any seeds) to a JSON-able summary.

    ``curves``: condition slug -> {"rounds": (3,), "sparsity": (3,), measure: (seeds, 3) per :data:`MEASURES`} at
    rounds 0, the middle one and the last;
    ``final``: measure -> condition slug -> {"mean", "min", "max", "n"} at the last round (RF widths undefined where
    the detection rate is at most :data:`impkit.verdicts.MIN_DETECTION_RATE`, as on the RF page); ``effects``
    (:func:`effects`); ``verdicts``: claim -> verdict; ``c4``: hits/total of the just-in-time test.
    """
    from impkit import analysis, verdicts

    runs = list(runs)
    last = min(max(r.rounds_done) for r in runs)
    # Three rounds carry every verdict and effect: round 0 (dense), the middle round (c3_kurtosis judges whether
    # the gap grows from there) and the last; measuring all eleven would triple the cost of a rung's analysis.
    rounds = sorted({0, (last + 1) // 2, last})  # the middle of 0..last, as c3_kurtosis picks it
    loc = analysis.rf_width_rows(runs, rounds=rounds)
    acc = [row for row in analysis.accuracy_rows(runs) if row["round"] in rounds]
    kurt = analysis.kurtosis_rows(runs, rounds=rounds, device=device)
    rows = {"detection": loc, "li": loc, "width": loc, "accuracy": acc, "kurtosis": kurt, "kurtosis_all": kurt}
    curves: dict[str, dict] = {}
    for m, key in MEASURES.items():
        for cond, c in analysis.curves(rows[m], key).items():
            d = curves.setdefault(_cond_key(cond), {"rounds": c["rounds"].tolist(),
                                                     "sparsity": c["sparsity"].tolist()})
            d[m] = c["values"].tolist()
    fs_det = analysis.final_summary(loc, "frac_detected")
    fs_li = analysis.final_summary(loc, "li_mean")
    fs_w = verdicts.widths_where_detected(analysis.final_summary(loc, "sigma_x_mean"), fs_det)
    fs_acc = analysis.final_summary(acc, "test_acc")
    fs_k = analysis.final_summary(kurt, "kurt_class")
    loc_res = verdicts.locality({"RF width": fs_w, "detection rate": fs_det, "locality index": fs_li})
    kc = analysis.curves(kurt, "kurt_class")
    kres = verdicts.c3_kurtosis(kc[verdicts.IMP]["values"], kc[verdicts.ONESHOT]["values"])
    c4 = _c4(runs, cavity_inputs, device)
    final = {name: {_cond_key(k): dict(v) for k, v in fs.items()}
             for name, fs in (("detection", fs_det), ("li", fs_li), ("width", fs_w), ("accuracy", fs_acc),
                              ("kurtosis", fs_k))}
    out = {
        "curves": curves, "final": final,
        "verdicts": {"C2": loc_res.c2_verdict, "C3 locality": loc_res.c3_verdict, "C3 kurtosis": kres.verdict,
                     "C4": c4["verdict"]},
        "c4": c4,
        "kurtosis_gap": kres.gap.tolist(),
        "sparsity": float(fs_det[verdicts.IMP]["sparsity"]),
        "image_shape": list(analysis.image_shape(runs[0])),
        "seeds": sorted({r.seed for r in runs}),
    }
    out["effects"] = effects(out)
    return out


def _c4(runs: Sequence, n_inputs: int, device) -> dict:
    """C4 on the IMP runs on the data, as notebook 06 computes it (cavity scores on ``n_inputs`` rows; 0: skipped,
    verdict undefined)."""
    from impkit import analysis, verdicts

    imp = [r for r in runs if r.method == "imp" and not r.dataset.endswith("-clone")]
    if not imp or n_inputs <= 0:  # no IMP run on the data, or C4 not asked (n_inputs 0)
        return {"verdict": verdicts.UNDEFINED, "hits": 0, "total": 0}
    res = [analysis.cavity_analysis(r, n_inputs=n_inputs, device=device) for r in imp]
    fates = res[0]["fate0"]["fate"]
    m0 = np.array([x["fate0"]["mean"] for x in res])
    fpos = np.array([x["fate0"]["frac_pos"] for x in res])
    over = analysis.cavity_over_rounds_mean(res)
    c4 = verdicts.c4(fates, m0.mean(0), fpos.mean(0), over, res[0]["over_rounds"]["fate"], res[0]["never"])
    return {"verdict": c4.verdict, "hits": int(c4.hits), "total": int(c4.total),
            "early": float(c4.trend.early), "late": float(c4.trend.late), "rho": float(c4.trend.rho_sign)}


def _mean(final: dict, measure: str, cond: str) -> float:
    return float(final.get(measure, {}).get(cond, {}).get("mean", float("nan")))


def effects(s: dict) -> dict[str, float]:
    """The last-round effect sizes behind the verdicts, as differences of means over seeds:

    ``det_imp_random``, ``det_imp_oneshot``, ``det_data_clone`` (detection rate, fractions of units);
    ``li_imp_random``, ``li_imp_oneshot``, ``li_data_clone`` (locality index, 1 = random);
    ``width_oneshot_imp``, ``width_clone_imp`` (RF width in pixels: positive = IMP narrower; NaN where undefined);
    ``kurt_imp_change`` (IMP's preactivation kurtosis at the last round minus at round 0), ``kurt_imp_oneshot``
    (IMP's minus one-shot's at the last round), ``kurt_gap`` (:func:`impkit.verdicts.c3_kurtosis` gap at the last
    round: |kurt_IMP − 3| − |kurt_one-shot − 3|); ``acc_imp``, ``acc_dense`` (test accuracy, last round and round
    0); ``c4_hits`` (share of fate groups scored positive just before removal).
    """
    f = s["final"]
    m = lambda measure, cond: _mean(f, measure, cond)  # noqa: E731
    k = s["curves"].get("imp", {}).get("kurtosis")
    k0 = float(np.nanmean(np.asarray(k, float)[:, 0])) if k else float("nan")
    a = s["curves"].get("imp", {}).get("accuracy")
    a0 = float(np.nanmean(np.asarray(a, float)[:, 0])) if a else float("nan")
    c4 = s.get("c4", {})
    return {
        "det_imp_random": m("detection", "imp") - m("detection", "random"),
        "det_imp_oneshot": m("detection", "imp") - m("detection", "oneshot"),
        "det_data_clone": m("detection", "imp") - m("detection", "imp_clone"),
        "li_imp_random": m("li", "imp") - m("li", "random"),
        "li_imp_oneshot": m("li", "imp") - m("li", "oneshot"),
        "li_data_clone": m("li", "imp") - m("li", "imp_clone"),
        "width_oneshot_imp": m("width", "oneshot") - m("width", "imp"),
        "width_clone_imp": m("width", "imp_clone") - m("width", "imp"),
        "kurt_imp_change": m("kurtosis", "imp") - k0,
        "kurt_imp_oneshot": m("kurtosis", "imp") - m("kurtosis", "oneshot"),
        "kurt_gap": float(s["kurtosis_gap"][-1]) if s.get("kurtosis_gap") else float("nan"),
        "acc_imp": m("accuracy", "imp"), "acc_dense": a0,
        "c4_hits": c4["hits"] / c4["total"] if c4.get("total") else float("nan"),
    }


# effect name -> (measure, condition a, condition b): the per-seed difference a - b at the last round
PAIRED_EFFECTS = {
    "det_imp_random": ("detection", "imp", "random"), "det_imp_oneshot": ("detection", "imp", "oneshot"),
    "det_data_clone": ("detection", "imp", "imp_clone"), "li_imp_random": ("li", "imp", "random"),
    "li_imp_oneshot": ("li", "imp", "oneshot"), "li_data_clone": ("li", "imp", "imp_clone"),
    "kurt_imp_oneshot": ("kurtosis", "imp", "oneshot"), "acc_imp_oneshot": ("accuracy", "imp", "oneshot"),
}


def seed_effects(s: dict) -> dict[str, np.ndarray]:
    """Per-seed effect sizes at the last round, (seeds,) each: the :data:`PAIRED_EFFECTS` (conditions paired by
    seed), ``kurt_imp_change`` (IMP's kurtosis at the last round minus round 0) and ``kurt_gap``
    (|kurt_IMP − 3| − |kurt_one-shot − 3|, the gap :func:`impkit.verdicts.c3_kurtosis` judges)."""
    from impkit.verdicts import GAUSSIAN_KURTOSIS

    c = s["curves"]
    last = lambda m, k: np.asarray(c[k][m], dtype=float)[:, -1]  # noqa: E731
    out = {name: last(m, a) - last(m, b) for name, (m, a, b) in PAIRED_EFFECTS.items() if a in c and b in c}
    if "imp" in c:
        k = np.asarray(c["imp"]["kurtosis"], dtype=float)
        out["kurt_imp_change"] = k[:, -1] - k[:, 0]
        if "oneshot" in c:
            out["kurt_gap"] = (np.abs(last("kurtosis", "imp") - GAUSSIAN_KURTOSIS)
                               - np.abs(last("kurtosis", "oneshot") - GAUSSIAN_KURTOSIS))
    return out


def measure(r: Rung, seeds: Sequence[int] = (0, 1), root: str | Path = "runs", device: str = "auto",
            preset: str | None = None, extra: dict | None = None, progress: bool = False,
            cavity_inputs: int = CAVITY_INPUTS) -> dict:
    """Train (missing rounds only) and summarise rung ``r``: ``{"rung": ..., "preset", "overrides", "shape",
    "minutes", **summary(...)}``. ``extra``: further dotted overrides (e.g. the smoke pass's few steps)."""
    from impkit.runs import train_configs
    from impkit.sweep import training_minutes

    preset = preset or r.preset
    cfgs = configs(r, seeds, preset, extra)
    runs = train_configs(cfgs, root=root, device=device, progress=progress)
    dev = None if device == "auto" else device
    s = summary(runs, cavity_inputs=cavity_inputs, device=dev)
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


def read_summary(path: str | Path) -> dict:
    """A summary written by :func:`write_summary` (null -> NaN); ValueError naming the file if it is not one."""
    path = Path(path)
    try:
        s = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable scale-study summary ({e}); regenerate it with "
                         f"`python -m impkit.scale record {path.stem}`") from None
    if not isinstance(s, dict) or s.get("format") != FORMAT:
        raise ValueError(f"{path}: not a scale-study summary of format {FORMAT}; regenerate it with "
                         f"`python -m impkit.scale record {path.stem}`")
    return _nan(s)


def source_label(s: dict) -> str:
    """Where summary ``s`` comes from, for tables: "this build" (measured now), or "recorded DATE, DEVICE, N min"
    from the provenance :func:`record` wrote."""
    pv = s.get("provenance")
    if not pv:
        return "this build"
    minutes = (pv.get("wall_s") or float("nan")) / 60
    return f"recorded {str(pv.get('date', '?'))[:10]}, {pv.get('device', '?')}, {minutes:.0f} min"


def load_recorded(directory: str | Path = RECORDED_DIR, slugs: Iterable[str] | None = None) -> dict[str, dict]:
    """Recorded summaries in ``directory`` by rung slug (only ``slugs`` if given; missing files are skipped)."""
    directory = Path(directory)
    want = None if slugs is None else set(slugs)
    out = {}
    for p in sorted(directory.glob("*.json")):
        if want is None or p.stem in want:
            out[p.stem] = read_summary(p)
    return out


def record(slugs: Sequence[str], seeds: Sequence[int], root: str | Path, out: str | Path, device: str,
           command: Sequence[str]) -> list[Path]:
    """Measure each rung and write ``<out>/<slug>.json`` with its provenance; returns the paths."""
    from impkit.device import resolve_device

    commit = code_commit()
    paths = []
    for slug in slugs:
        r = rung(slug)
        t0 = time.perf_counter()
        s = measure(r, seeds=seeds, root=root, device=device, progress=True)
        dev = str(resolve_device(None if device == "auto" else device))
        s["provenance"] = provenance(command, time.perf_counter() - t0, dev, commit)
        paths.append(write_summary(s, Path(out) / f"{slug}.json"))
        print(f"{slug}: {s['verdicts']} in {s['provenance']['wall_s']:.0f} s -> {paths[-1]}", flush=True)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impkit.scale list|record``: print the ladder or record rungs (module docstring)."""
    p = argparse.ArgumentParser(prog="python -m impkit.scale", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="print the ladder")
    rec = sub.add_parser("record", help="train (or reuse) rungs and write their summaries with provenance")
    rec.add_argument("rungs", nargs="+", help="rung slugs (see `list`), or 'recorded' for every recorded rung and "
                                              "dose point but the paper's (which needs a GPU)")
    rec.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    rec.add_argument("--root", default="runs", help="run store (default: runs)")
    rec.add_argument("--out", default=str(RECORDED_DIR), help="where summaries go (default: book/recorded/scale)")
    rec.add_argument("--device", default="auto")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for r in LADDER + DOSE:
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
