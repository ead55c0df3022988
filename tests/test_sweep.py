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


# ------------------------------------------------------------------------------------------------
# recorded rows: the appendix screen does not depend on what is installed
# ------------------------------------------------------------------------------------------------
import json  # noqa: E402
from pathlib import Path  # noqa: E402

from impkit import sweep  # noqa: E402
from impkit.data import fashion_mnist  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "90_choosing_the_default.py"
NEEDS_INSTALL = {"fashion-mnist", "imagenet32"}  # data a machine may not have (system package, manual download)


@pytest.fixture
def no_fashion_mnist(tmp_path, monkeypatch):
    """Fashion-MNIST absent, wherever the machine has it installed."""
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path / "no-data"))
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", str(tmp_path / "no-system-data"))


def test_record_then_read_gives_the_trained_row(tmp_path, monkeypatch):
    # recording is the screen itself plus provenance; reading it back gives the same numbers without training
    toy = Candidate("toy task", "toy", OVER, recorded="toy")
    monkeypatch.setitem(sweep.RECORDED, "toy", (toy, "ci", (0,)))
    (path,) = sweep.record(["toy"], None, tmp_path / "runs", tmp_path / "rec", "cpu", ["cmd", "x"])
    raw = json.loads(path.read_text())
    assert raw["format"] == sweep.FORMAT and raw["preset"] == "ci" and raw["seeds"] == [0] and len(raw["runs"]) == 6
    pv = raw["provenance"]
    assert pv["command"] == "cmd x" and pv["device"] == "cpu" and pv["commit"] and pv["date"] and pv["wall_s"] > 0
    (trained,) = screen([Candidate("toy task", "toy", OVER)], "ci", root=str(tmp_path / "runs"))
    (back,) = screen([toy], "ci", root=str(tmp_path / "elsewhere"), recorded_dir=tmp_path / "rec")
    assert not (tmp_path / "elsewhere").exists()  # nothing trained, nothing created
    assert back["source"].startswith(f"recorded {pv['date'][:10]}, cpu") and trained["source"] == sweep.THIS_BUILD
    for k in ("det_gap", "det_gap_per_min", "minutes", "dense_acc", "imp_acc", "li_gap", "classes", "image"):
        assert back[k] == pytest.approx(trained[k], nan_ok=True), k
    # other settings than recorded (another seed here): not silently reused
    (other,) = screen([toy], "ci", seeds=[1], root=str(tmp_path / "elsewhere"), recorded_dir=tmp_path / "rec")
    assert other["status"].startswith(f"recorded row {path} is for other settings")
    assert "python -m impkit.sweep record toy" in other["status"] and "det_gap" not in other


def test_the_recorded_fashion_mnist_row_is_read_without_the_package(tmp_path, no_fashion_mnist):
    cand, preset, seeds = sweep.RECORDED["fashion-mnist"]
    (row,) = screen([cand], preset, seeds=seeds, root=str(tmp_path / "runs"))
    assert row["status"] == "ok" and row["source"].startswith("recorded 20") and np.isfinite(row["det_gap"])
    assert row["dataset"] == "fashion-mnist" and row["image"] == "1x28x28" and row["classes"] == 10
    assert not (tmp_path / "runs").exists()
    raw = json.loads((sweep.RECORDED_DIR / "fashion-mnist.json").read_text())
    assert raw["provenance"]["command"].startswith("python -m impkit.sweep record fashion-mnist")


@pytest.mark.parametrize("slug", sorted(sweep.RECORDED))
def test_every_recorded_candidate_has_its_row_and_trains_nothing(slug, tmp_path):
    # the book's budget (issue #24) depends on these rows being read, not trained: a candidate added to RECORDED
    # without its file would silently fall back to "not recorded" and lose its row
    cand, preset, seeds = sweep.RECORDED[slug]
    raw = json.loads((sweep.RECORDED_DIR / f"{slug}.json").read_text())
    assert raw["slug"] == slug and raw["preset"] == preset and tuple(raw["seeds"]) == seeds
    assert raw["provenance"]["command"].startswith(f"python -m impkit.sweep record ")
    (row,) = screen([cand], preset, seeds=seeds, root=str(tmp_path / "runs"))
    assert row["status"] == "ok" and row["source"].startswith("recorded 20")
    assert not (tmp_path / "runs").exists()


def _notebook_candidates(preset: str, tmp_path, monkeypatch) -> list:
    """The candidates notebook 90 screens at ``preset``: its parameters and setup cells, executed up to its call
    of ``screen`` (stubbed: it records its arguments and stops the cell)."""
    import matplotlib

    matplotlib.use("Agg")
    seen = []

    class Stop(Exception):
        pass

    def stub(cands, *a, **kw):
        seen.extend(cands)
        raise Stop

    monkeypatch.setattr(sweep, "screen", stub)
    cells = [c.split("\n", 1)[1] for c in NOTEBOOK.read_text().split("\n# %%")[1:] if not c.startswith(" [markdown]")]
    params, setup = cells[0], cells[1]
    assert 'tags=["parameters"]' not in setup and "screen(" in setup
    code = f"{params}\npreset = {preset!r}\nrun_root = {str(tmp_path / 'runs')!r}\n{setup}"  # as papermill injects
    with pytest.raises(Stop):
        exec(compile(code, str(NOTEBOOK), "exec"), {"display": print})  # noqa: S102
    return seen


@pytest.mark.parametrize("preset", ["ci", "default"])
def test_the_appendix_screen_needs_no_installed_data(preset, tmp_path, monkeypatch, no_fashion_mnist):
    # every candidate of the book's screen either has data that every machine has (generated, bundled) or is read
    # from a recorded row that matches its settings: the book builds the same with or without the package
    cands = _notebook_candidates(preset, tmp_path, monkeypatch)
    assert cands
    for c in cands:
        if c.dataset in NEEDS_INSTALL:
            assert c.recorded, f"{c.name}: its data need installing, so it must be a recorded row"
            row = sweep.recorded_row(c, preset, [0])
            assert row["status"] == "ok", row["status"]
