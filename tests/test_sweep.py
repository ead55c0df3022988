"""impkit.sweep: candidate screening (scores computed from the runs; missing data reported, not fatal)."""
from __future__ import annotations

import numpy as np
import pytest

from impkit.analysis import final_summary, rf_width_rows
from impkit.conditions import Condition
from impkit.runs import ensure_runs
from impkit.sweep import Candidate, screen, training_minutes

OVER = {"train.steps": 120, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 40,
        "prune.rounds": 3, "model.hidden": (16,)}


def test_screen_scores_and_missing_data(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path / "nothing-here"))
    rows = screen([Candidate("toy task", "toy", OVER), Candidate("no files", "imagenet32", OVER)], "ci",
                  root=str(tmp_path))
    ok, missing = rows
    assert ok["status"] == "ok" and missing["status"].startswith("data unavailable")
    runs = ensure_runs("ci", "toy", seeds=[0], root=tmp_path, overrides=OVER, clone=True, progress=False)
    rows = rf_width_rows(runs)
    w = {k: v["mean"] for k, v in final_summary(rows, "sigma_x_mean").items()}
    det = {k: v["mean"] for k, v in final_summary(rows, "frac_detected").items()}
    imp, rnd, imp_clone = Condition("imp"), Condition("random"), Condition("imp", clone=True)
    # widths exist only where some units have a detected peak (random masks usually have none): NaN is allowed
    assert ok["gap_random"] == pytest.approx((w[rnd] - w[imp]) / 8, nan_ok=True)
    assert ok["gap_clone"] == pytest.approx((w[imp_clone] - w[imp]) / 8, nan_ok=True)
    finite = np.isfinite([ok["gap_random"], ok["gap_clone"]]).all()
    assert (ok["width_gap"] == min(ok["gap_random"], ok["gap_clone"])) if finite else np.isnan(ok["width_gap"])
    # the score is the detection-rate gap, defined for every condition
    assert ok["det_gap"] == pytest.approx(min(det[imp] - det[rnd], det[imp] - det[imp_clone]))
    assert ok["det_imp_clone"] == det[imp_clone] and ok["sigma_oneshot"] == pytest.approx(w[Condition("oneshot")],
                                                                                         nan_ok=True)
    assert ok["sparsity"] == pytest.approx(1 - runs[0].mask(3)[0].mean())
    assert np.isfinite(ok["det_gap"]) and ok["det_gap_per_min"] == pytest.approx(ok["det_gap"] / ok["minutes"])
    assert ok["minutes"] == pytest.approx(training_minutes(runs)) and ok["minutes"] > 0
    assert ok["classes"] == 2
