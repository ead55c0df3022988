"""The claim pages' verdicts (impkit.claims) are the scale study's: same summary layout, same effects."""
import json

import numpy as np
import pytest

from impkit import analysis, claims, scale, verdicts
from impkit.runs import train_configs

TINY = {"train.steps": 60, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 0,
        "prune.rounds": 3, "model.hidden": [16], "data.options.n_train": 600, "data.options.n_test": 200,
        "data.options.L": 8}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("claims")
    r = scale.Rung("tiny", "heavy", "baseline", "tiny", 1.0)
    return train_configs(scale.configs(r, [0, 1, 2], "ci", TINY), root=root, device="cpu", progress=False)


def test_page_summary_gives_the_scale_summary_effects(tiny_runs):
    runs = tiny_runs
    ref = scale.summary(runs, cavity_inputs=300, device="cpu")
    imp = sorted((r for r in runs if r.method == "imp" and not r.dataset.endswith("-clone")), key=lambda r: r.seed)
    cav = [analysis.cavity_analysis(r, n_inputs=300, device="cpu") for r in imp]
    # every round, as the pages compute them (the scale summary fits the robustness measures at three rounds only)
    s = claims.page_summary(analysis.rf_width_rows(runs), analysis.kurtosis_rows(runs, device="cpu"),
                            analysis.accuracy_rows(runs), cav, [r.seed for r in imp])
    got = claims.effects(s)
    assert set(got) == set(ref["claims"]) == {"C2a", "C2b", "C3a", "C3b", "C4"}
    for k, e in got.items():
        want = ref["claims"][k]
        assert e.verdict == want["verdict"], k
        np.testing.assert_allclose([e.mean, e.lo, e.hi, e.mde], [want["mean"], want["lo"], want["hi"], want["mde"]],
                                   rtol=1e-9, err_msg=k)
        assert e.n == 3
    rob = claims.robustness_table(s, ["C2a", "C2b", "C3a"])
    for k, measures in rob.items():
        assert set(measures) == set(verdicts.ROBUSTNESS_DELTAS)
        for m, e in measures.items():
            want = ref["robustness"][m][claims.ROBUST_FOR[k]]
            np.testing.assert_allclose([e.mean, e.lo, e.hi], [want["mean"], want["lo"], want["hi"]], rtol=1e-9)
    acc = scale.accuracy_summary(s)
    assert acc["imp"]["dense"]["mean"] == pytest.approx(ref["accuracy"]["imp"]["dense"]["mean"])
    table = claims.verdict_table(got, acc)
    assert list(table.index) == list(got) and (table["verdict"] == [e.verdict for e in got.values()]).all()
    assert "→" in table.loc["C2a", "test accuracy, dense → last round"]
    assert table.loc["C2b", "paper expects"] == verdicts.NOT_REPRODUCED


def test_effects_leave_out_what_the_page_did_not_measure(tiny_runs):
    s = claims.page_summary(kurtosis_rows=analysis.kurtosis_rows(tiny_runs, device="cpu"),
                            accuracy_rows=analysis.accuracy_rows(tiny_runs))
    assert set(claims.effects(s)) == {"C3b"}


def test_disagreements_are_decisive_robust_verdicts_that_differ():
    prim = verdicts.judge([0.1, 5.0], 1.0)  # inconclusive
    rob = {"a": verdicts.judge([3.0, 3.1, 3.2], 1.0),   # reproduced: differs, decisive
           "b": verdicts.judge([0.0, 9.0], 1.0),        # inconclusive: not a disagreement
           "c": verdicts.judge([0.0, 0.01, -0.01], 1.0)}  # not reproduced: differs, decisive
    assert claims.disagreements(prim, rob) == ["a", "c"]
    assert claims.disagreements(rob["a"], rob) == ["c"]


def test_null_bands_show_only_current_format_nulls(tmp_path):
    eff = verdicts.judge([0.1, -0.1, 0.05], 1.0).as_dict()
    (tmp_path / "dose-p1.json").write_text(json.dumps({"format": scale.FORMAT, "claims": {"C3a": eff}}))
    (tmp_path / "null-shuffle-base.json").write_text(json.dumps({"format": "impkit.scale/1", "effects": {}}))
    bands, missing = claims.null_bands("C3a", tmp_path)
    assert list(bands) == [scale.rung("dose-p1").name] and bands[scale.rung("dose-p1").name]["lo"] == eff["lo"]
    assert missing == [s for s in scale.NULL_SLUGS if s != "dose-p1"]
    bands, missing = claims.null_bands("C4", tmp_path)  # no C4 effect recorded: no band
    assert bands == {} and missing == list(scale.NULL_SLUGS)
