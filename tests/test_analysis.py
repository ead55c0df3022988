"""impkit.analysis: from runs to tables and curves (checked against direct computations on the same runs)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from impkit import analysis
from impkit.conditions import Condition
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
    rows = analysis.kurtosis_rows([r], per_class=100, rounds=[1], device="cpu")
    ds = r.load_data("train")
    y_all = ds.y.numpy()
    first = np.sort(np.concatenate([np.flatnonzero(y_all == c)[:100] for c in (0, 1)]))
    x, y = ds.features(torch.from_numpy(first)).double(), ds.y[first]
    W, b = (torch.from_numpy(a).double() for a in r.weights(1, "rewind")[0])
    lam = x @ W.T + b
    alive = (W != 0).any(1)
    k_all = kurtosis(lam[:, alive], dim=0)
    k_cls = np.mean([np.asarray(kurtosis(lam[y == c][:, alive], dim=0)) for c in (0, 1)], axis=0)
    assert rows[0]["kurt_all"] == pytest.approx(float(np.mean(np.asarray(k_all))), rel=1e-6)
    assert rows[0]["kurt_class"] == pytest.approx(float(np.mean(k_cls)), rel=1e-6)
    assert rows[0]["n_inputs"] == 200 and rows[0]["n_per_class_min"] == 100 and rows[0]["n_per_class_median"] == 100
    # default: every row of the split
    full = analysis.kurtosis_rows([r], rounds=[1], device="cpu")[0]
    counts = np.bincount(y_all)
    assert full["n_inputs"] == len(ds) and full["n_per_class_min"] == counts.min()
    assert full["n_per_class_median"] == pytest.approx(np.median(counts))


# --------------------------------------------------------------------------------------------------------------
# Stand-in runs on synthetic data with many classes (no training): what kurtosis_rows reads from a run.
class _FakeRun:
    """Duck-typed :class:`impkit.runs.Run` with one round (dense first layer W, bias b) on a given Dataset."""

    def __init__(self, ds, W, b, name):
        from types import SimpleNamespace

        self._ds, self._W, self._b = ds, W, b
        self.config = SimpleNamespace(data=SimpleNamespace(name=name, options={}, root=None), seed=0,
                                      model=SimpleNamespace(input_bn=False))
        self.dataset, self.method, self.seed, self.rounds_done, self.path = name, "imp", 0, [0], name

    def load_data(self, split="train"):
        return self._ds

    def weights(self, n, which="trained"):
        return [(self._W, self._b)]

    def sparsity(self, n):
        return {"sparsity": 0.0, "layers": [{"sparsity": 0.0}]}


def _gaussian_many_classes(k=1000, per_class=300, d=16, h=8, seed=0):
    from impkit.data.base import Dataset

    g = torch.Generator().manual_seed(seed)
    n = k * per_class
    x = torch.randn(n, d, generator=g)
    y = torch.arange(n) % k  # classes interleaved, exactly per_class rows each
    ds = Dataset(x=x, y=y, image_shape=(1, 4, 4), num_classes=k, name=f"gauss{k}")
    W = torch.randn(h, d, generator=g).numpy()
    return ds, W, np.zeros(h, np.float32)


def test_kurtosis_rows_gaussian_1000_classes_default_is_unbiased():
    # 1000 classes x 300 inputs of Gaussian data: the per-class kurtosis of the (exactly Gaussian) preactivations
    # has mean 3 (n-1)/(n+1) = 2.980 at n = 300 and, averaged over 1000 independent classes, a standard error
    # of about sqrt(24/300)/sqrt(1000) = 0.009. The default must use every input of each class (300), not the
    # first 10,000 rows of the split (10 per class, mean 3*9/11 = 2.45).
    analysis.clear_cache()
    ds, W, b = _gaussian_many_classes()
    row = analysis.kurtosis_rows([_FakeRun(ds, W, b, "gauss1000")])[0]
    n, se = 300, np.sqrt(24 / 300) / np.sqrt(1000)
    assert abs(row["kurt_class"] - 3 * (n - 1) / (n + 1)) < 4 * se, row["kurt_class"]
    assert abs(row["kurt_class"] - 3) < 6 / (n + 1) + 4 * se  # within bias + 4 SE of the Gaussian value
    assert abs(row["kurt_all"] - 3) < 4 * np.sqrt(24 / 300_000)
    assert row["n_per_class_min"] == 300 and row["n_per_class_median"] == 300 and row["n_inputs"] == 300_000
    # an explicit cap of 10 per class reproduces the small-sample bias (mean 2.45)
    capped = analysis.kurtosis_rows([_FakeRun(ds, W, b, "gauss1000")], per_class=10)[0]
    assert capped["n_per_class_min"] == 10 and capped["kurt_class"] < 2.6


def test_kurtosis_rows_stream_uint8_rows_without_a_float_copy():
    # uint8 storage with shift/scale (as ImageNet32): rows are normalised batch by batch, never the whole split;
    # unbalanced classes, a cap per class taking the first rows of each class in dataset order.
    from impkit.data.base import Dataset

    rng = np.random.default_rng(1)
    k, d, h = 5, 12, 4
    y = np.repeat(np.arange(k), [40, 70, 120, 25, 90])
    rng.shuffle(y)
    x = rng.integers(0, 256, size=(len(y), d)).astype(np.uint8)
    x[:, :3] = (rng.laplace(size=(len(y), 3)) * 20 + 128).clip(0, 255).astype(np.uint8)  # heavy-tailed pixels
    shift = torch.from_numpy(rng.uniform(100, 150, d).astype(np.float32))
    ds = Dataset(x=torch.from_numpy(x), y=torch.from_numpy(y), image_shape=(1, 3, 4), num_classes=k,
                 name="u8", shift=shift, scale=255.0)
    ds.features = None  # would fail if called: kurtosis_rows must stream through ds.normalize
    W = rng.normal(size=(h, d)).astype(np.float32)
    b = rng.normal(size=h).astype(np.float32)
    run = _FakeRun(ds, W, b, "u8")
    row = analysis.kurtosis_rows([run], per_class=50, batch_size=33, device="cpu")[0]
    keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:50] for c in range(k)]))
    feats = (x[keep].astype(np.float64) - shift.double().numpy()) / 255.0
    lam = feats @ W.astype(np.float64).T + b
    k_cls = np.mean([kurtosis(lam[y[keep] == c], dim=0) for c in range(k)], axis=0)
    assert row["kurt_class"] == pytest.approx(float(k_cls.mean()), rel=1e-6)
    assert row["kurt_all"] == pytest.approx(float(np.mean(kurtosis(lam, dim=0))), rel=1e-6)
    assert (row["n_inputs"], row["n_classes"], row["n_per_class_min"], row["n_per_class_median"]) == (215, 5, 25, 50)


def test_input_selection_helpers():
    y = torch.tensor([2, 0, 2, 1, 0, 2, 2, 0, 1, 2])
    np.testing.assert_array_equal(analysis.class_ranks(y).numpy(), [0, 0, 1, 0, 1, 2, 3, 2, 1, 4])
    assert analysis.select_per_class(y, None) is None
    np.testing.assert_array_equal(analysis.select_per_class(y, 2).numpy(), [0, 1, 2, 3, 4, 8])
    # spread: first row of each class, then second, ...; ascending indices
    np.testing.assert_array_equal(analysis.spread_sample(y, 4).numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(analysis.spread_sample(y, 7).numpy(), [0, 1, 2, 3, 4, 5, 8])
    assert len(analysis.spread_sample(y, 100)) == 10
    np.testing.assert_array_equal(analysis.per_class_counts(y, analysis.select_per_class(y, 2), 4), [2, 2, 2, 0])
    with pytest.raises(ValueError):
        analysis.select_per_class(y, 0)


def test_curves_and_final_summary(runs):
    rows = analysis.accuracy_rows(runs)
    c = analysis.curves(rows, "test_acc")
    # keyed by condition, data before clone, then the registry's method order
    assert [k.label for k in c] == ["imp", "oneshot", "random", "imp clone", "oneshot clone", "random clone"]
    assert all(isinstance(k, Condition) for k in c)
    imp, random = Condition("imp"), Condition("random")
    assert c[imp]["values"].shape == (2, 4)
    fs = analysis.final_summary(rows, "test_acc")
    assert list(fs) == list(c)
    v = c[random]["values"][:, -1]
    assert fs[random]["mean"] == pytest.approx(v.mean())
    assert fs[random]["min"] == pytest.approx(v.min()) and fs[random]["round"] == 3
    clone = [r for r in rows if r["dataset"] == "toy-clone" and r["method"] == "imp" and r["round"] == 3]
    assert fs[Condition("imp", clone=True)]["mean"] == pytest.approx(np.mean([r["test_acc"] for r in clone]))


def test_final_summary_skips_missing_seeds():
    rows = [{"dataset": "d", "method": "imp", "seed": s, "round": n, "sparsity": 0.3 * n, "x": v}
            for s, vals in ((0, [1.0, 2.0]), (1, [1.0, float("nan")]), (2, [1.0, 4.0])) for n, v in enumerate(vals)]
    rows.append({"dataset": "d-clone", "method": "imp", "seed": 0, "round": 1, "sparsity": 0.3, "x": float("nan")})
    fs = analysis.final_summary(rows, "x")
    assert list(fs) == [Condition("imp"), Condition("imp", clone=True)]
    assert (fs[Condition("imp")]["mean"], fs[Condition("imp")]["min"], fs[Condition("imp")]["n"]) == (3.0, 2.0, 2)
    assert np.isnan(fs[Condition("imp", clone=True)]["mean"]) and fs[Condition("imp", clone=True)]["n"] == 0
    assert analysis.final_summary(rows[:-1], "x", round_=0)[Condition("imp")]["mean"] == 1.0


def test_cavity_analysis_groups_by_fate(runs):
    r = runs[0]
    out = analysis.cavity_analysis(r, n_inputs=300, device="cpu")
    masks = [r.mask(n)[0] for n in r.rounds_done]
    np.testing.assert_array_equal(out["fate"], fate_round(masks))
    ds = r.load_data("train")
    idx = analysis.spread_sample(ds.y, 300)  # 150 rows of each of the 2 classes
    assert out["n_inputs"] == 300 and out["n_per_class_min"] == 150 and out["n_classes"] == 2
    W, b = r.weights(0, "rewind")[0]
    s0 = cavity_scores(W, ds.features(idx), b).numpy()
    f = out["fate0"]
    for fate, mean in zip(f["fate"], f["mean"]):
        assert mean == pytest.approx(s0[out["fate"] == fate].mean(), rel=1e-9, abs=1e-12)
    assert out["over_rounds"]["mean"].shape[0] == len(r.rounds_done) - 1
    with pytest.raises(ValueError, match="IMP run"):
        analysis.cavity_analysis([x for x in runs if x.method == "random"][0])


def test_kurtosis_and_cavity_with_input_batchnorm(tmp_path):
    # with an input batch-norm the first layer sees BN(x): both analyses must use it, as (B, D) rows
    over = {"train.steps": 60, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 30,
            "prune.rounds": 2, "model.hidden": (8,), "model.input_bn": True}
    r = ensure_runs("ci", "toy", methods=["imp"], seeds=[0], root=tmp_path, overrides=over, clone=False,
                    progress=False)[0]
    row = analysis.kurtosis_rows([r], rounds=[1], device="cpu")[0]
    ds = r.load_data("train")
    xin = r.model(1, "rewind").first_layer_input(ds.features())[0].double()
    W, b = (torch.from_numpy(a).double() for a in r.weights(1, "rewind")[0])
    lam = (xin @ W.T + b)[:, (W != 0).any(1)]
    k_cls = np.mean([np.asarray(kurtosis(lam[ds.y == c], dim=0)) for c in (0, 1)], axis=0)
    assert row["kurt_class"] == pytest.approx(float(np.mean(k_cls)), rel=1e-6)
    out = analysis.cavity_analysis(r, n_inputs=100, device="cpu")
    x0 = r.model(0, "rewind").first_layer_input(ds.features(analysis.spread_sample(ds.y, 100)))[0]
    s0 = cavity_scores(r.weights(0, "rewind")[0][0], x0).numpy()
    f = out["fate0"]
    assert f["mean"][0] == pytest.approx(s0[out["fate"] == f["fate"][0]].mean(), rel=1e-9, abs=1e-12)


def test_cavity_over_rounds_mean_skips_seeds_without_survivors():
    from impkit.analysis import cavity_over_rounds_mean

    a = {"over_rounds": {"mean": np.array([[1.0, np.nan], [3.0, np.nan]])}}
    b = {"over_rounds": {"mean": np.array([[3.0, 2.0], [np.nan, np.nan]])}}
    out = cavity_over_rounds_mean([a, b])
    np.testing.assert_array_equal(out, [[2.0, 2.0], [3.0, np.nan]])


def test_paper_rf_width_fits_every_counted_unit_without_background():
    """The paper's width: a planted blob's σ (√2 σ_blob for the pair profile), random masks broad, excluded NaN,
    and the same as rf_width_fit's fit of every unit with the background fixed at 0."""
    from impkit.analysis import paper_rf_width
    from impkit.metrics import rf_width_fit

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    blob = (np.exp(-((yy - 8) ** 2 + (xx - 8) ** 2) / (2 * 1.5 ** 2)) > rng.random((4, 16, 16))).reshape(4, -1)
    rand = rng.random((4, 256)) < 0.2
    few = np.zeros((1, 256), bool)
    few[0, :3] = True
    masks = np.concatenate([blob, rand, few])
    w = paper_rf_width(masks, (1, 16, 16), min_weights=8)
    assert np.isnan(w[-1]) and np.isfinite(w[:-1]).all()
    assert w[:4].max() < 3.5 and w[4:8].min() > 5.0          # local blobs narrow, random masks broad
    ref = rf_width_fit(masks, (1, 16, 16), min_weights=8, background=False, fit_undetected=True)
    np.testing.assert_allclose(w[:-1], ref.sigma_x_fit[:-1], rtol=1e-9)


def test_count_matched_null_keeps_each_units_count_at_random_places():
    from impkit.analysis import count_matched_null

    m = np.zeros((50, 100), bool)
    m[:, :10] = True                                  # a local block: the first 10 inputs of every unit
    m[7] = False
    m[3, :40] = True
    out = count_matched_null(m, seed=1)
    np.testing.assert_array_equal(out.sum(1), m.sum(1))
    assert out[:, :10].mean() < 0.3                   # no longer where the block was
    np.testing.assert_array_equal(out, count_matched_null(m, seed=1))
    assert not np.array_equal(out, count_matched_null(m, seed=2))
