"""Cavity-guided pruning (impkit.cavity_pruning, methods "cavity" and "cavity-trained")."""
import math
import types

import numpy as np
import pytest
import torch

from impkit import cavity_pruning as CP
from impkit import methods
from impkit import prune as P
from impkit import verdicts as V
from impkit.analysis import spread_sample
from impkit.cli import main
from impkit.config import ConfigError
from impkit.metrics import cavity_scores_bruteforce
from impkit.presets import make_config
from impkit.runs import ensure_runs

OV = {"train.steps": 80, "train.t_rewind": 10, "train.eval_every": 40, "train.checkpoint_every": 0,
      "prune.rounds": 3, "model.hidden": (16,), "data.options.n_train": 256, "data.options.n_test": 64}


def _prune_cfg(**ov):
    return make_config("ci", "toy", "cavity", 0, {f"prune.{k}": v for k, v in ov.items()}).prune


def _direct_keep(W, m, x, k):
    """The specification, computed the slow way: for each surviving weight, the cavity score by brute force
    (kurtosis recomputed without it); keep the k surviving weights with the smallest scores, NaN-scored ones
    first, ties to the lower flat index."""
    S = cavity_scores_bruteforce(torch.as_tensor(W * m), torch.as_tensor(x)).numpy()
    H, D = m.shape
    alive = [i * D + j for i in range(H) for j in range(D) if m[i, j]]

    def key(f):
        s = S.flat[f]
        return (0, 0.0, f) if math.isnan(s) else (1, float(s), f)

    keep = np.zeros(H * D, dtype=bool)
    keep[sorted(alive, key=key)[:k]] = True
    return keep.reshape(H, D), S


@pytest.fixture(scope="module")
def small_layer():
    """A 6 x 12 layer on 300 heavy-tailed inputs with: pruned entries; three surviving weights exactly 0 (an exact
    tie at score 0); unit 4 with one surviving weight (NaN score); unit 5 whose weights sit on inputs that are
    constant in the sample (constant preactivation: every score NaN)."""
    rng = np.random.default_rng(3)
    H, D, Pn = 6, 12, 300
    x = rng.laplace(size=(Pn, D))
    x[:, 10:] = 0.0  # two constant input columns (exactly 0: centring leaves no rounding noise)
    W = rng.normal(size=(H, D))
    m = rng.random((H, D)) < 0.7
    m[:5, 10:] = False
    m[0, 1] = m[1, 2] = m[2, 3] = True
    W[0, 1] = W[1, 2] = W[2, 3] = 0.0
    m[4] = False
    m[4, 5] = True
    m[5] = False
    m[5, 10:] = True
    return W, m, x


def test_selection_equals_bruteforce_for_every_count(small_layer):
    W, m, x = small_layer
    n_alive = int(m.sum())
    _, S = _direct_keep(W, m, x, 0)
    alive_scores = S[m]
    assert np.isnan(S[4, 5]) and np.isnan(S[5, 10:]).all() and np.isnan(alive_scores).sum() == 3
    assert (S[0, 1], S[1, 2], S[2, 3]) == (0.0, 0.0, 0.0)  # the tie
    scores = CP.layer_scores(W, m, x)
    for k in range(n_alive + 1):
        want, _ = _direct_keep(W, m, x, k)
        got = CP.cavity_keep_mask(scores, torch.from_numpy(m), k).numpy()
        assert got.sum() == k and not (got & ~m).any()
        assert np.array_equal(got, want), k
    # the tie is broken by the flat index: with one place left at score 0, the lowest index (0, 1) is kept
    below = int((np.nan_to_num(alive_scores, nan=-np.inf) < 0).sum())
    got = CP.cavity_keep_mask(scores, torch.from_numpy(m), below + 1).numpy()
    assert got[0, 1] and not got[1, 2] and not got[2, 3]
    # more NaN-scored weights than places: the count is still met, the lower index wins
    got = CP.cavity_keep_mask(scores, torch.from_numpy(m), 2).numpy()
    assert got.sum() == 2 and got[4, 5] and got[5, 10] and not got[5, 11]
    with pytest.raises(ValueError, match="only"):
        CP.cavity_keep_mask(scores, torch.from_numpy(m), n_alive + 1)


def test_keep_order_puts_nan_first_and_pruned_last():
    s = torch.tensor([0.5, float("nan"), -1.0, 0.5, 2.0, float("nan"), -0.0, 0.0])
    alive = torch.tensor([True, True, True, True, True, False, True, True])
    assert CP.keep_order(s, alive).tolist() == [1, 2, 6, 7, 0, 3, 4, 5]


def test_spread_indices_is_the_analyses_sample():
    y = torch.tensor([2, 0, 0, 1, 2, 2, 2, 0, 2, 1, 2, 2])
    for n in range(0, 14):
        assert torch.equal(CP.spread_indices(y, n), spread_sample(y, n)), n
    assert CP.spread_indices(y, 6).tolist() == [0, 1, 2, 3, 4, 9]


@pytest.mark.parametrize("ov", [{}, {"output_rate": 0.0}, {"prune_bias": True}, {"rate": 0.5}])
def test_counts_and_other_layers_are_imps_every_round(ov):
    cfg = _prune_cfg(**ov)
    rng = np.random.default_rng(0)
    shapes = [(10, 25), (8, 10), (3, 8)]
    x = torch.from_numpy(rng.standard_t(5, size=(200, 25)))
    masks = [torch.ones(s, dtype=torch.bool) for s in shapes]
    bmasks = [torch.ones(s[0], dtype=torch.bool) for s in shapes]
    for n in range(1, 11):
        W = [torch.from_numpy(rng.normal(size=s)) * mk for s, mk in zip(shapes, masks)]
        b = [torch.from_numpy(rng.normal(size=s[0])) for s in shapes]
        score_w = torch.from_numpy(rng.normal(size=shapes[0]))
        new_m, new_bm = CP.cavity_masks(W, b, masks, bmasks, score_w, x, cfg, n)
        imp_m, imp_bm = P.imp_masks(W, b, masks, bmasks, cfg, n)
        kept = [int(a.sum()) + (int(c.sum()) if cfg.prune_bias else 0) for a, c in zip(new_m, new_bm)]
        assert kept == P.unit_counts(shapes, cfg, n)
        for l in range(1, len(shapes)):
            assert torch.equal(new_m[l], imp_m[l]) and torch.equal(new_bm[l], imp_bm[l])
        assert not (new_m[0] & ~masks[0]).any() and not (new_bm[0] & ~bmasks[0]).any()  # nested
        if not cfg.prune_bias:
            assert new_bm[0].all()
            want = CP.cavity_keep_mask(CP.layer_scores(score_w, masks[0], x), masks[0], kept[0])
            assert torch.equal(new_m[0], want)
        masks, bmasks = new_m, new_bm
    # deterministic: the same inputs give the same masks bit for bit
    first = CP.cavity_masks(W, b, masks, bmasks, score_w, x, cfg, 11)
    again = CP.cavity_masks(W, b, masks, bmasks, score_w, x, cfg, 11)
    assert all(torch.equal(a, c) for a, c in zip(first[0] + first[1], again[0] + again[1]))


def test_pooled_biases_score_zero():
    cfg = _prune_cfg(prune_bias=True, rate=0.5)
    rng = np.random.default_rng(1)
    shapes = [(4, 6), (2, 4)]
    W = [torch.from_numpy(rng.normal(size=s)) for s in shapes]
    b = [torch.from_numpy(rng.normal(size=s[0])) for s in shapes]
    x = torch.from_numpy(rng.laplace(size=(100, 6)))
    ones = [torch.ones(s, dtype=torch.bool) for s in shapes]
    bones = [torch.ones(s[0], dtype=torch.bool) for s in shapes]
    m, bm = CP.cavity_masks(W, b, ones, bones, W[0], x, cfg, 1)
    s = CP.layer_scores(W[0], ones[0], x).reshape(-1)
    flat = torch.cat([s, torch.zeros(4, dtype=s.dtype)])
    keep = CP.cavity_keep_mask(flat, torch.ones(28, dtype=torch.bool), P.unit_counts(shapes, cfg, 1)[0])
    assert torch.equal(m[0].reshape(-1), keep[:24]) and torch.equal(bm[0], keep[24:])


def test_refuses_global_scope_and_input_batchnorm():
    with pytest.raises(ConfigError, match="global scope is not supported by method 'cavity'"):
        _prune_cfg(scope="global")
    cfg = make_config("ci", "toy", "imp", 0, {"prune.scope": "global"}).prune
    W = [torch.ones(3, 4), torch.ones(2, 3)]
    ones = [torch.ones(3, 4, dtype=torch.bool), torch.ones(2, 3, dtype=torch.bool)]
    with pytest.raises(ValueError, match="scope"):
        CP.cavity_masks(W, [torch.ones(3), torch.ones(2)], ones, None, W[0], torch.ones(5, 4), cfg, 1)
    assert not methods.get("cavity").global_scope and not methods.get("cavity-trained").global_scope
    ctx = types.SimpleNamespace(cfg=make_config("ci", "toy", "cavity", 0, {"model.input_bn": True}), data=None)
    with pytest.raises(ValueError, match="input_bn"):
        CP.method_masks(ctx)


# ------------------------------------------------------------------------------------------------
# end to end
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cavruns")
    runs = ensure_runs("ci", "toy", methods=("imp", "cavity", "cavity-trained"), seeds=(0,), root=root,
                       overrides=OV, progress=False)
    return root, {r.method: r for r in runs}


def test_end_to_end_follows_the_definition(toy_runs):
    _, by = toy_runs
    imp, cav, cavt = by["imp"], by["cavity"], by["cavity-trained"]
    cfg = cav.config.prune
    x = CP.score_inputs(cav.load_data("train"))
    assert x.shape == (256, 64)  # the whole (small) training split
    rw = cav.params(0, "rewind").weights[0]  # θ(t_rewind) (m(0) = all ones)
    for n in (1, 2, 3):
        for run in (cav, cavt):
            assert run.rounds_done == [0, 1, 2, 3]
            assert [int(m.sum()) for m in run.mask(n)] == [int(m.sum()) for m in imp.mask(n)]
            prev = run.masks(n - 1)
            W, b = run.params(n - 1).tensors()
            want, _ = P.imp_masks(W, b, prev.weight_tensors(), prev.bias_tensors(), cfg, n)
            assert np.array_equal(run.mask(n)[1], want[1].numpy())  # other layers: IMP's magnitude rule
            assert run.bias_mask(n)[0].all()
        k = int(imp.mask(n)[0].sum())
        m0 = cav.mask(n - 1)[0]
        if n <= 2:  # first layer against the brute-force specification (16 x 64 weights, 256 inputs)
            want0, _ = _direct_keep(rw, m0, x.double().numpy(), k)
        else:
            want0 = CP.cavity_keep_mask(CP.layer_scores(rw, m0, x), torch.from_numpy(m0), k).numpy()
        assert np.array_equal(cav.mask(n)[0], want0), n
        mt = cavt.mask(n - 1)[0]
        wt = cavt.params(n - 1).weights[0]  # θ(T) of round n - 1
        want_t = CP.cavity_keep_mask(CP.layer_scores(wt, mt, x), torch.from_numpy(mt), k).numpy()
        assert np.array_equal(cavt.mask(n)[0], want_t), n
    assert not np.array_equal(cav.mask(3)[0], imp.mask(3)[0])
    assert not np.array_equal(cav.mask(3)[0], cavt.mask(3)[0])


def test_masks_do_not_depend_on_batching_and_resume(toy_runs, tmp_path):
    _, by = toy_runs
    alone = ensure_runs("ci", "toy", methods=("cavity",), seeds=(0,), root=tmp_path, overrides=OV, progress=False,
                        max_replicas=1)[0]
    for n in range(4):
        assert all(np.array_equal(a, b) for a, b in zip(alone.mask(n), by["cavity"].mask(n)))
    # resume: lose the last round, train again -> the same mask is recomputed from the files of round 2
    before = alone.mask(3)
    for f in ("metrics.json", "trained.npz", "mask.npz", "sparsity.json"):
        (alone.path / "round_03" / f).unlink()
    again = ensure_runs("ci", "toy", methods=("cavity",), seeds=(0,), root=tmp_path, overrides=OV,
                        progress=False)[0]
    assert again.rounds_done == [0, 1, 2, 3]
    assert all(np.array_equal(a, b) for a, b in zip(again.mask(3), before))


def test_cli_runs_the_method(toy_runs, capsys):
    root, _ = toy_runs
    sets = sum([["--set", f"{k}={v}"] for k, v in OV.items()], [])
    assert main(["run", "--preset", "ci", "--dataset", "toy", "--method", "cavity-trained", "--seed", "0",
                 "--out", str(root), "--quiet", *sets]) == 0
    assert "cavity-trained" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------
# the verdict rule
# ------------------------------------------------------------------------------------------------
def test_first_round_at_least():
    v = np.array([[1.0, 1.2, 1.6, 2.0], [1.0, 1.4, 1.3, np.nan]])
    assert V.first_round_at_least(v, [0, 1, 2, 3], 1.5) == 3  # round 2: mean 1.45; round 3: 2.0 (NaN left out)
    assert V.first_round_at_least(v, [0, 1, 2, 3], 1.25) == 1
    assert V.first_round_at_least(v, [0, 1, 2, 3], 5.0) is None
    assert V.first_round_at_least(np.full((2, 2), np.nan), [0, 1], 0.0) is None


def test_split_halves_are_disjoint_and_balanced():
    y = torch.tensor([0, 1] * 20 + [1] * 7)
    a, b = CP.split_halves(y, 10)
    assert len(a) == len(b) == 10 and not set(a.tolist()) & set(b.tolist())
    assert torch.equal(torch.sort(torch.cat([a, b])).values, CP.spread_indices(y, 20))
    assert torch.bincount(y[a]).tolist() == [5, 5] and torch.bincount(y[b]).tolist() == [5, 5]


def test_reliability_is_perfect_on_identical_halves():
    from impkit.data.base import Dataset

    rng = np.random.default_rng(0)
    x = np.repeat(rng.laplace(size=(150, 9)), 2, axis=0)  # rows 2i and 2i+1 equal -> the two halves are equal
    y = np.zeros(300, dtype=np.int64)
    ds = Dataset(x=torch.from_numpy(x.astype(np.float32)), y=torch.from_numpy(y), image_shape=(1, 3, 3),
                 num_classes=1, name="dup")
    W = rng.normal(size=(5, 9))
    m = rng.random((5, 9)) < 0.8
    r = CP.split_half_reliability(W, m, ds, n=1000, rate=0.3)
    assert r["n_inputs"] == 150 and r["rho"] == pytest.approx(1.0) and r["overlap"] == 1.0
    kept = P.keep_counts(int(m.sum()), 0.3, 1)[1]
    assert r["chance"] == pytest.approx(1 - kept / m.sum())


def test_rounds_ahead_and_peak():
    a = np.array([[1.0, 2.0, 3.0, np.nan], [1.0, 2.2, 2.0, np.nan]])
    b = np.array([[1.0, 1.0, 2.6, 4.0]])
    assert V.rounds_ahead(a, b, [0, 1, 2, 3]) == [1]  # round 2: 2.5 < 2.6; round 3 undefined for a
    assert V.rounds_ahead(b, a, [0, 1, 2, 3]) == [2]
    assert V.peak(a, [0, 1, 2, 3]) == (2, 2.5)
    assert V.peak(np.array([[1.0, 3.0, 3.0]]), [4, 5, 6]) == (5, 3.0)
    r, v = V.peak(np.full((2, 3), np.nan), [0, 1, 2])
    assert r is None and np.isnan(v)
