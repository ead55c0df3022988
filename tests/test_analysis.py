"""impkit.analysis: from runs to tables and curves (checked against direct computations on the same runs)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from impkit import analysis
from impkit.metrics import cavity_scores, fate_round, kurtosis, rf_width_fit
from impkit.runs import ensure_runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    over = {"train.steps": 120, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 40,
            "prune.rounds": 3, "model.hidden": (16,)}
    root = tmp_path_factory.mktemp("runs")
    return ensure_runs("ci", "toy", seeds=[0, 1], root=root, overrides=over, clone=True, progress=False)


def test_group_runs_orders_conditions(runs):
    groups = analysis.group_runs(runs)
    assert list(groups)[:3] == [("toy", "imp"), ("toy", "oneshot"), ("toy", "random")]
    assert all(k[0] == "toy-clone" for k in list(groups)[3:])
    assert all([r.seed for r in v] == [0, 1] for v in groups.values())


def test_rf_width_rows_match_direct_fit(runs):
    rows = analysis.rf_width_rows(runs[:1], min_weights=4)
    assert [r["round"] for r in rows] == [0, 1, 2, 3]
    res = rf_width_fit(runs[0].mask(2)[0], (1, 8, 8), min_weights=4)
    assert rows[2]["sigma_x_mean"] == pytest.approx(np.nanmean(res.sigma_x))
    assert rows[2]["n_excluded"] == res.n_excluded
    assert rows[2]["sparsity"] == pytest.approx(1 - runs[0].mask(2)[0].mean())


def test_kurtosis_rows_match_direct_computation(runs):
    r = runs[0]
    rows = analysis.kurtosis_rows([r], n_inputs=200, rounds=[1])
    ds = r.load_data("train")
    x, y = ds.features(slice(0, 200)).double(), ds.y[:200]
    W, b = (torch.from_numpy(a).double() for a in r.weights(1, "rewind")[0])
    lam = x @ W.T + b
    alive = (W != 0).any(1)
    k_all = kurtosis(lam[:, alive], dim=0)
    k_cls = np.mean([np.asarray(kurtosis(lam[y == c][:, alive], dim=0)) for c in (0, 1)], axis=0)
    assert rows[0]["kurt_all"] == pytest.approx(float(np.mean(np.asarray(k_all))), rel=1e-6)
    assert rows[0]["kurt_class"] == pytest.approx(float(np.mean(k_cls)), rel=1e-6)


def test_curves_and_final_summary(runs):
    rows = analysis.accuracy_rows(runs)
    c = analysis.curves(rows, "test_acc")
    assert set(c) == {"imp", "oneshot", "random", "imp clone", "oneshot clone", "random clone"}
    assert c["imp"]["values"].shape == (2, 4)
    fs = analysis.final_summary(rows, "test_acc")
    v = c["random"]["values"][:, -1]
    assert fs["random"]["mean"] == pytest.approx(v.mean())
    assert fs["random"]["min"] == pytest.approx(v.min()) and fs["random"]["round"] == 3


def test_cavity_analysis_groups_by_fate(runs):
    r = runs[0]
    out = analysis.cavity_analysis(r, n_inputs=300)
    masks = [r.mask(n)[0] for n in r.rounds_done]
    np.testing.assert_array_equal(out["fate"], fate_round(masks))
    ds = r.load_data("train")
    W, b = r.weights(0, "rewind")[0]
    s0 = cavity_scores(W, ds.features(slice(0, 300)), b).numpy()
    f = out["fate0"]
    for fate, mean in zip(f["fate"], f["mean"]):
        assert mean == pytest.approx(s0[out["fate"] == fate].mean(), rel=1e-9, abs=1e-12)
    assert out["over_rounds"]["mean"].shape[0] == len(r.rounds_done) - 1
    with pytest.raises(ValueError, match="IMP run"):
        analysis.cavity_analysis([x for x in runs if x.method == "random"][0])
