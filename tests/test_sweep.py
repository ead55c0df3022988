"""impkit.sweep: candidate screening (scores computed from the runs; missing data reported, not fatal)."""
from __future__ import annotations

import pytest

from impkit.analysis import final_summary, rf_width_rows
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
    w = {k: v["mean"] for k, v in final_summary(rf_width_rows(runs), "sigma_x_mean").items()}
    assert ok["gap_random"] == pytest.approx((w["random"] - w["imp"]) / 8)
    assert ok["gap_clone"] == pytest.approx((w["imp clone"] - w["imp"]) / 8)
    assert ok["width_gap"] == min(ok["gap_random"], ok["gap_clone"])
    assert ok["minutes"] == pytest.approx(training_minutes(runs)) and ok["minutes"] > 0
    assert ok["classes"] == 2
