"""The claim pages' verdicts, computed by the same code as the scale study's summaries.

A claim page (notebooks 04–06) measures its own runs; :func:`page_summary` puts its rows into the layout of
:func:`impkit.scale.summary` (``curves``, ``robust_curves``, ``c4``), so that the page's verdicts come from
:func:`impkit.scale.claim_effects`, its robustness table from :func:`impkit.scale.robustness` and its accuracies
from :func:`impkit.scale.accuracy_summary` — the ladder and the claim pages cannot drift apart (tested:
``tests/test_claims.py`` checks that a page summary gives the effects of ``scale.summary`` on the same runs).

Beside each verdict a page shows: the effect with its 90 % interval, δ, the seeds, the smallest detectable
effect, the accuracy of the conditions compared (:func:`verdict_table`); the null bands of the recorded null runs
(:func:`null_bands`); the robustness measures (which do not vote) and where they disagree with the primary verdict
(:func:`disagreements`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from impkit import verdicts as V

__all__ = ["CONDITIONS", "ROBUST_FOR", "page_summary", "effects", "robustness_table", "null_bands",
           "disagreements", "verdict_table", "accuracy_text"]

# the conditions each claim compares (condition slugs of impkit.conditions), for the accuracy beside its verdict
CONDITIONS = {"C2a": ("imp", "imp_clone"), "C2b": ("random_clone", "imp_clone"), "C3a": ("imp", "oneshot"),
              "C3b": ("imp", "oneshot"), "C4": ("imp",)}
# the robustness comparison (impkit.scale.ROBUST_COMPARISONS) of each locality claim, oriented as its effect
ROBUST_FOR = {"C2a": "IMP data vs clone", "C2b": "IMP clone vs random", "C3a": "IMP vs one-shot"}
# which rows feed which statistic of the summary (impkit.scale.PRIMARY / ROBUST)
_SOURCE = {"width_median": "width", "width_mean": "width", "kurtosis": "kurtosis", "accuracy": "accuracy",
           "detection": "width", "li": "width", "width_detected": "width", "kurtosis_all": "kurtosis"}
DECISIVE = (V.REPRODUCED, V.OPPOSITE, V.NOT_REPRODUCED)


def page_summary(width_rows: Sequence[Mapping] = (), kurtosis_rows: Sequence[Mapping] = (),
                 accuracy_rows: Sequence[Mapping] = (), cavity: Sequence[Mapping] = (),
                 cavity_seeds: Sequence[int] = ()) -> dict:
    """A summary in the layout of :func:`impkit.scale.summary` from a page's rows.

    ``width_rows``: :func:`impkit.analysis.rf_width_rows` (or ``paper_width_rows``); ``kurtosis_rows``:
    :func:`impkit.analysis.kurtosis_rows`; ``accuracy_rows``: :func:`impkit.analysis.accuracy_rows`; ``cavity``:
    :func:`impkit.analysis.cavity_analysis` results of the IMP runs on the data (seeds ``cavity_seeds``). Rows
    beyond the last round every run reached are left out, as ``scale.summary`` does."""
    from impkit import analysis
    from impkit.conditions import Condition
    from impkit.scale import PRIMARY, ROBUST, _cond_key

    tables = {"width": list(width_rows), "kurtosis": list(kurtosis_rows), "accuracy": list(accuracy_rows)}
    # the last round of every run (condition x seed) in any table
    ends: dict[tuple, int] = {}
    for rows in tables.values():
        for r in rows:
            k = (r["dataset"], r["method"], r["seed"])
            ends[k] = max(ends.get(k, -1), int(r["round"]))
    last = min(ends.values()) if ends else 0
    tables = {k: [r for r in rows if r["round"] <= last] for k, rows in tables.items()}
    curves: dict[str, dict] = {}
    robust: dict[str, dict] = {}
    for target, table in ((curves, PRIMARY), (robust, ROBUST)):
        for m, key in table.items():
            rows = tables[_SOURCE[m]]
            if not rows or key not in rows[0]:
                continue
            for cond, c in analysis.curves(rows, key).items():
                seeds = sorted({r["seed"] for r in rows if Condition.of_row(r) == cond})
                d = target.setdefault(_cond_key(cond), {"rounds": c["rounds"].tolist(),
                                                         "sparsity": c["sparsity"].tolist(), "seeds": seeds})
                d[m] = c["values"].tolist()
    cav = list(cavity)
    c4 = {"seeds": list(cavity_seeds), "on_time_share": [x["on_time_share"] for x in cav],
          "shuffled_share": [x["shuffled_share"] for x in cav]}
    return {"curves": curves, "robust_curves": robust, "c4": c4}


def effects(s: Mapping) -> dict[str, V.Effect]:
    """Claim key -> :class:`impkit.verdicts.Effect` of page summary ``s`` (:func:`impkit.scale.claim_effects`;
    claims whose statistic the page did not measure are left out)."""
    from impkit.scale import claim_effects

    out = claim_effects(dict(s))
    c = s.get("curves", {})
    if not any("width_mean" in v for v in c.values()):
        out.pop("C3a", None)
    if not any("kurtosis" in v for v in c.values()):
        out.pop("C3b", None)
    if not any("width_median" in v for v in c.values()):
        out.pop("C2a", None), out.pop("C2b", None)
    return out


def robustness_table(s: Mapping, claims: Sequence[str]) -> dict[str, dict[str, V.Effect]]:
    """Claim key -> robustness measure (:data:`impkit.verdicts.ROBUSTNESS_DELTAS`) -> Effect of the claim's
    comparison (:data:`ROBUST_FOR`), from :func:`impkit.scale.robustness` of page summary ``s``. They do not
    vote."""
    from impkit.scale import robustness

    rob = robustness(dict(s))
    return {k: {m: comp[ROBUST_FOR[k]] for m, comp in rob.items() if ROBUST_FOR[k] in comp}
            for k in claims if k in ROBUST_FOR}


def disagreements(primary: V.Effect, robust: Mapping[str, V.Effect]) -> list[str]:
    """The robustness measures whose verdict is decisive (reproduced, opposite, not reproduced) and differs from the
    primary verdict — where the page must say that they disagree (they still do not vote)."""
    return [m for m, e in robust.items() if e.verdict in DECISIVE and e.verdict != primary.verdict]


def null_bands(claim: str, directory=None, slugs: Sequence[str] | None = None) -> tuple[dict[str, dict], list[str]]:
    """The null bands of ``claim``: ({null run's name: its Effect dict for the claim}, [slugs not shown]).

    Reads the recorded null runs (:data:`impkit.scale.NULL_SLUGS`) one by one with
    :func:`impkit.scale.null_effects`; a null that is not recorded, not yet in the current summary format, or has
    no effect for this claim is listed as not shown (never replaced by anything else)."""
    from impkit import scale

    directory = scale.RECORDED_DIR if directory is None else directory
    bands, missing = {}, []
    for slug in (scale.NULL_SLUGS if slugs is None else slugs):
        try:
            e = scale.null_effects(directory, [slug]).get(slug, {}).get(claim)
        except ValueError:  # a summary of an older format: not a null band until it is recorded again
            e = None
        if e is None or not np.isfinite(float(e.get("mean", float("nan")))):
            missing.append(slug)
        else:
            bands[scale.rung(slug).name] = e
    return bands, missing


def accuracy_text(acc: Mapping, conds: Sequence[str]) -> str:
    """``"IMP 0.912 → 0.897; IMP on clone 0.850 → 0.841"``: dense (round 0) → last-round test accuracy, means over
    seeds, of conditions ``conds`` (slugs) from :func:`impkit.scale.accuracy_summary`."""
    from impkit.conditions import Condition

    parts = []
    for c in conds:
        if c not in acc:
            continue
        cond = Condition.from_label(c.replace("_", " "))
        parts.append(f"{cond.display} {acc[c]['dense']['mean']:.3f} → {acc[c]['final']['mean']:.3f}")
    return "; ".join(parts) if parts else "n/a"


def verdict_table(effs: Mapping[str, V.Effect], acc: Mapping | None = None) -> pd.DataFrame:
    """One row per claim: verdict, effect [90 % interval], δ, seeds, the smallest detectable effect (MDE), what the
    paper's claim predicts, and (with ``acc`` from :func:`impkit.scale.accuracy_summary`) the test accuracy of the
    conditions compared, dense → last round."""
    rows = {}
    for k, e in effs.items():
        c = V.CLAIMS[k]
        row = {"verdict": e.verdict, "effect [90 % interval]": f"{e.mean:+.3g} [{e.lo:.3g}, {e.hi:.3g}] {c.unit}",
               "δ": f"{e.delta:g} {c.unit}", "seeds": e.n, "smallest detectable": f"{e.mde:.3g} {c.unit}",
               "paper expects": c.expected}
        if acc is not None:
            row["test accuracy, dense → last round"] = accuracy_text(acc, CONDITIONS.get(k, ()))
        rows[k] = row
    return pd.DataFrame.from_dict(rows, orient="index")
