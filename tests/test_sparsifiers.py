"""SNIP, iterative SNIP, SynFlow, OBD and SET (impkit.sparsifiers, impkit.dynamic): scores against direct
computations on an unstacked tiny model, IMP's counts at every round, SET's constant counts, batching and resume."""
import numpy as np
import pytest
from conftest import kill_at_round_1_checkpoint_and_resume, same_params
import torch
from torch import nn

from impkit import analysis, prune
from impkit import sparsifiers as S
from impkit.dynamic import Dynamics, drop_and_regrow
from impkit.presets import make_config
from impkit.rounds import init_params
from impkit.runs import Run, ensure_runs

NEW = ("snip", "snip-iterative", "synflow", "obd", "obd-iterative", "set")
OV = {"train.steps": 300, "train.t_rewind": 20, "train.eval_every": 60, "train.checkpoint_every": 0,
      "prune.rounds": 3, "model.hidden": (12,), "data.options.n_train": 256, "data.options.n_test": 64}


def _tiny(seed=0, dims=(6, 5, 4, 3)):
    g = torch.Generator().manual_seed(seed)
    W = [torch.randn(o, i, generator=g, dtype=torch.float64) for i, o in zip(dims[:-1], dims[1:])]
    b = [torch.randn(o, generator=g, dtype=torch.float64) * 0.3 for o in dims[1:]]
    x = torch.randn(17, dims[0], generator=g, dtype=torch.float64)
    y = torch.randint(0, dims[-1], (17,), generator=g)
    return W, b, x, y


def _sequential(W, b, absolute=False):
    layers = []
    for l, (w, t) in enumerate(zip(W, b)):
        lin = nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(w.abs() if absolute else w)
            lin.bias.copy_(t.abs() if absolute else t)
        layers.append(lin)
        if l < len(W) - 1 and not absolute:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers), layers[::1 if absolute else 2]


def _random_masks(W, seed=1, keep=0.6):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(w.shape, generator=g) < keep for w in W]


# ------------------------------------------------------------------------------------------------
# scores against direct computations
# ------------------------------------------------------------------------------------------------
def test_snip_score_is_gradient_times_weight():
    W, b, x, y = _tiny()
    masks = _random_masks(W)
    net, lins = _sequential([w * m for w, m in zip(W, masks)], b)
    nn.functional.cross_entropy(net(x), y).backward()
    sw, sb = S.snip_scores(W, b, masks, x, y)
    for s, lin in zip(sw, lins):
        assert torch.allclose(s, (lin.weight.grad * lin.weight).abs(), rtol=1e-12, atol=1e-15)
    for s, lin in zip(sb, lins):
        assert torch.allclose(s, (lin.bias.grad * lin.bias).abs(), rtol=1e-12, atol=1e-15)
    assert all((s[~m] == 0).all() for s, m in zip(sw, masks))  # pruned weights score 0


def test_synflow_score_matches_autograd_and_is_c_i_times_abs_w_in_the_first_layer():
    W, b, _, _ = _tiny(3)
    masks = _random_masks(W, 4)
    net, lins = _sequential([w * m for w, m in zip(W, masks)], b, absolute=True)
    net(torch.ones(1, W[0].shape[1], dtype=torch.float64)).sum().backward()
    sw, sb = S.synflow_scores(W, b, masks)
    for s, lin in zip(sw, lins):
        assert torch.allclose(s, lin.weight.grad * lin.weight, rtol=1e-12)
    for s, lin in zip(sb, lins):
        assert torch.allclose(s, lin.bias.grad * lin.bias, rtol=1e-12)
    # the page's prediction: S1_ij = c_i |W1_ij| (one factor per unit), so within a unit the order is |θ| alone
    ratio = sw[0][masks[0]] / (W[0].abs()[masks[0]])
    rows = torch.nonzero(masks[0])[:, 0]
    for i in rows.unique():
        r = ratio[rows == i]
        assert torch.allclose(r, r[0].expand_as(r), rtol=1e-12)


def test_hessian_diagonal_equals_the_exact_hessian():
    """Tolerance: relative 1e-9 (float64; exact up to rounding for a ReLU network away from kinks)."""
    W, b, x, y = _tiny(5)
    params = W + b
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss(flat):
        ps = [t.view(s) for t, s in zip(flat.split(sizes), shapes)]
        return nn.functional.cross_entropy(S.forward(ps[:len(W)], ps[len(W):], x), y)

    H = torch.autograd.functional.hessian(loss, torch.cat([p.reshape(-1) for p in params]))
    want = torch.diagonal(H).split(sizes)
    hW, hb = S.hessian_diagonal(W, b, x, chunk_elems=40)  # small chunks: the chunked sum is exercised
    for got, w in zip(hW + hb, want):
        assert torch.allclose(got.reshape(-1), w, rtol=1e-9, atol=1e-12)
    sw, _ = S.obd_scores(W, b, [torch.ones_like(w, dtype=torch.bool) for w in W], x)
    assert torch.allclose(sw[0], 0.5 * want[0].view(W[0].shape) * W[0] ** 2, rtol=1e-9)


def test_top_masks_keeps_largest_scores_with_counts():
    cfg = make_config("ci", "toy", "snip", 0, {}).prune
    s = [torch.tensor([[3.0, 1.0, 2.0, 2.0]]), torch.tensor([[1.0, 5.0]])]
    alive = [torch.tensor([[True, True, False, True]]), torch.ones(1, 2, dtype=torch.bool)]
    m, _ = S.top_masks(s, [torch.zeros(1), torch.zeros(1)], alive, None, cfg, [2, 1])
    assert m[0].tolist() == [[True, False, False, True]] and m[1].tolist() == [[False, True]]


def test_drop_and_regrow_keeps_counts_drops_smallest_and_regrows_at_zero():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 4, 5, generator=g)
    M = (torch.rand(3, 4, 5, generator=g) < 0.5).float()
    W *= M
    W0, M0 = W.clone(), M.clone()
    rows = torch.tensor([0, 2])
    keys = torch.rand(2, 20, generator=g)
    drop_and_regrow(W, M, rows, torch.tensor([2, 3]), keys)
    assert torch.equal(W[1], W0[1]) and torch.equal(M[1], M0[1])  # other replicas untouched
    for k, (r, d) in enumerate(zip([0, 2], [2, 3])):
        before, after = M0[r].bool().flatten(), M[r].bool().flatten()
        assert int(after.sum()) == int(before.sum())
        gone, grown = before & ~after, ~before & after
        assert int(gone.sum()) == d == int(grown.sum())
        w = W0[r].flatten().abs()
        assert w[gone].max() <= w[before & after].min()  # the smallest kept magnitudes are dropped
        assert (W[r].flatten()[grown] == 0).all() and (W[r].flatten()[~after] == 0).all()
        assert keys[k][grown].max() <= keys[k][~before & ~grown].min()  # smallest keys among the inactive
    assert Dynamics(period=100, stop_fraction=0.75).update_steps(20, 300) == [120, 220]


# ------------------------------------------------------------------------------------------------
# through the round driver
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sparse_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sparsifiers")
    return {r.method: r for r in ensure_runs("ci", "toy", methods=("imp", *NEW), seeds=(0,), root=root,
                                             overrides=OV, progress=False)}


def test_every_method_keeps_imps_counts_at_every_round(sparse_runs):
    imp = sparse_runs["imp"]
    for name in NEW:
        r = sparse_runs[name]
        assert r.rounds_done == [0, 1, 2, 3]
        for n in range(4):
            assert [int(m.sum()) for m in r.mask(n)] == [int(m.sum()) for m in imp.mask(n)], (name, n)
            assert r.sparsity(n)["kept"] == imp.sparsity(n)["kept"]
    for name in ("snip", "obd"):  # one shot from one score: nested
        r = sparse_runs[name]
        assert all((r.mask(n)[0] <= r.mask(n - 1)[0]).all() for n in (2, 3))


def test_masks_are_those_of_the_scores(sparse_runs):
    r = sparse_runs["snip"]
    cfg = r.config
    shapes = [m.shape for m in r.mask(0)]
    W, b = init_params(cfg, shapes)
    from impkit.data.cache import run_data

    ds = run_data(cfg, "train")
    from impkit.cavity_pruning import spread_indices

    idx = spread_indices(ds.y, S.SNIP_INPUTS)
    sw, sb = S.snip_scores(W, b, [np.ones(s, bool) for s in shapes], ds.normalize(ds.x[idx]).double(), ds.y[idx])
    k = int(r.mask(2)[0].sum())
    order = torch.sort(sw[0].flatten(), descending=True, stable=True).indices[:k]
    want = torch.zeros(sw[0].numel(), dtype=torch.bool)
    want[order] = True
    assert np.array_equal(r.mask(2)[0].reshape(-1), want.numpy())
    # SynFlow's first layer: within each unit the kept weights are the largest |θ(0)| (spatially random masks)
    sf = sparse_runs["synflow"]
    m = sf.mask(3)[0]
    a = W[0].abs().numpy()
    for i in range(m.shape[0]):
        if 0 < m[i].sum() < m.shape[1]:
            assert a[i][m[i]].min() >= a[i][~m[i]].max()


def test_set_round_starts_from_init_and_its_mask_moves(sparse_runs):
    r = sparse_runs["set"]
    start, _ = prune.random_masks([m.shape for m in r.mask(0)], r.config.prune, 2, r.config.seed)
    end = r.mask(2)[0]
    assert int(end.sum()) == int(start[0].sum())
    assert not np.array_equal(end, start[0].numpy())  # drop and regrowth moved it
    assert (r.weights(2)[0][0][~end] == 0).all()


def test_set_counts_are_constant_through_a_round(tmp_path, monkeypatch):
    from impkit import dynamic

    seen = []
    orig = dynamic.drop_and_regrow

    def spy(weights, masks, rows, drop, keys):
        before = (masks[rows] > 0.5).flatten(1).sum(1).tolist()
        orig(weights, masks, rows, drop, keys)
        seen.append((before, (masks[rows] > 0.5).flatten(1).sum(1).tolist()))
        assert bool(((weights[rows] != 0) <= (masks[rows] > 0.5)).all())

    monkeypatch.setattr(dynamic, "drop_and_regrow", spy)
    ensure_runs("ci", "toy", methods=("set",), seeds=(1,), root=tmp_path, overrides={**OV, "prune.rounds": 2},
                progress=False)
    assert len(seen) >= 2 * 2  # rounds 1, 2 x updates x layers
    assert all(a == b for a, b in seen)


def test_a_replica_alone_equals_itself_in_a_batch(sparse_runs, tmp_path):
    for name in ("set", "snip-iterative"):
        alone = ensure_runs("ci", "toy", methods=(name,), seeds=(0,), root=tmp_path / name, overrides=OV,
                            progress=False)[0]
        batched = sparse_runs[name]
        for n in range(4):
            assert all(np.array_equal(a, b) for a, b in zip(alone.mask(n), batched.mask(n))), (name, n)
            assert same_params(alone.weights(n), batched.weights(n)), (name, n)




def test_set_killed_mid_round_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch):
    ov = {**OV, "train.steps": 300, "train.checkpoint_every": 150, "prune.rounds": 1}
    cfg = make_config("ci", "toy", "set", 0, ov)
    # the round-1 checkpoint at step 150 (after the mask update at 120) is written, then "kill"
    clean, killed = kill_at_round_1_checkpoint_and_resume(cfg, tmp_path, monkeypatch, 150)
    ck_mask = prune.random_masks([m.shape for m in clean.mask(0)], cfg.prune, 1, 0)[0][0].numpy()
    assert not np.array_equal(clean.mask(1)[0], ck_mask)
    for n in (0, 1):
        assert all(np.array_equal(a, b) for a, b in zip(killed.mask(n), clean.mask(n)))
        assert same_params(killed.weights(n), clean.weights(n))


def test_count_matched_null_keeps_each_units_count():
    g = np.random.default_rng(0)
    m = g.random((7, 30)) < np.linspace(0.05, 0.9, 7)[:, None]
    null = analysis.count_matched_null(m, seed=3, n=2)
    assert np.array_equal(null.sum(1), m.sum(1)) and not np.array_equal(null, m)
    assert np.array_equal(null, analysis.count_matched_null(m, seed=3, n=2))
    assert not np.array_equal(null, analysis.count_matched_null(m, seed=4, n=2))


def test_cli_lists_and_runs_every_new_method(cli, tmp_path):
    rc, out, _ = cli("run", "--help")
    assert rc == 0 and all(name in out for name in NEW)
    sets = [a for k, v in {**OV, "prune.rounds": 1}.items()
            for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
    rc, out, err = cli("run", "--preset", "ci", "--dataset", "toy", "--method", "obd-iterative", "--seed", "0",
                       "--out", tmp_path, "--quiet", *sets)
    assert rc == 0, err


def test_sparsifier_rows_carry_the_null_at_the_last_round(sparse_runs):
    runs = [sparse_runs["imp"], sparse_runs["synflow"]]
    rows = analysis.sparsifier_rows(runs, min_weights=4)
    assert len(rows) == 2 * 4
    for row in rows:
        has_null = np.isfinite(row["null_li_mean"])
        assert has_null == (row["round"] == 3)
        assert 0 <= row["test_acc"] <= 1


def test_sampled_fisher_estimates_the_same_diagonal():
    """Above OBD_EXACT_CLASSES classes OBD uses the sampled true Fisher: with 2000 draws per input its mean is within
    10 % (relative, entries above 5 % of the largest) of the exact diagonal; a seed gives the same bits twice."""
    W, b, x, _ = _tiny(7)
    hW, hb = S.hessian_diagonal(W, b, x)
    xs = x.repeat(2000, 1)
    fW, fb = S.fisher_diagonal(W, b, xs, seed=11, batch=4000)
    for e, f in zip(hW + hb, fW + fb):
        big = e.abs() > 0.05 * e.abs().max()
        assert torch.allclose(f[big], e[big], rtol=0.1)
    again, _ = S.fisher_diagonal(W, b, xs[:500], seed=11, batch=1000)
    assert torch.equal(again[0], S.fisher_diagonal(W, b, xs[:500], seed=11, batch=1000)[0][0])


# ------------------------------------------------------------------------------------------------
# the page's recorded summaries and measures
# ------------------------------------------------------------------------------------------------
def test_record_writes_a_summary_that_load_recorded_reads_back(tmp_path):
    out = S.record("ci", "toy", [0, 1], out=str(tmp_path / "rec" / "toy.json"), root=str(tmp_path / "runs"),
                   device="cpu", methods=("imp", "synflow"), overrides={**OV, "prune.rounds": 2},
                   command=["test"])
    rec = S.load_recorded("toy", tmp_path / "rec")
    assert out.endswith("toy.json") and rec["format"] == S.FORMAT
    st = rec["settings"]
    assert st["methods"] == ["imp", "synflow"] and st["seeds"] == [0, 1] and st["image_shape"] == [1, 8, 8]
    assert st["set"]["zeta"] == S.SET_ZETA and rec["provenance"]["command"] == "test"
    # one row per run x round, data and clone; the null only at the last round (NaN, written as null, elsewhere)
    assert len(rec["rows"]) == 2 * 2 * 2 * 3
    for row in rec["rows"]:
        assert np.isfinite(row["null_sigma_paper_median"]) == (row["round"] == 2)
        assert 0 <= row["test_acc"] <= 1 and row["n_counted"] + row["n_excluded"] == 12
    ok, tot = rec["checks"]["synflow_largest_init"]
    assert tot > 0 and ok == tot  # SynFlow keeps each unit's largest |θ(0)| (the page's prediction)
    eff = S.last_round_effects(rec["rows"])
    assert {str(e["condition"]) for e in eff} == {"imp", "synflow", "imp clone", "synflow clone"}
    assert "12" in S.describe_recorded(rec) and "2 rounds" in S.describe_recorded(rec)
    assert st["runs_total"] == 8 and st["runs_reused"] == 0
    # recorded again with one more method: the 8 runs already complete are counted as reused, the 4 new ones not
    S.record("ci", "toy", [0, 1], out=str(tmp_path / "rec" / "toy.json"), root=str(tmp_path / "runs"),
             device="cpu", methods=("imp", "synflow", "random"), overrides={**OV, "prune.rounds": 2}, command=["test"])
    st = S.load_recorded("toy", tmp_path / "rec")["settings"]
    assert st["runs_total"] == 12 and st["runs_reused"] == 8


def test_load_recorded_absent_or_not_a_summary(tmp_path):
    assert S.load_recorded("nothing", tmp_path) is None
    (tmp_path / "bad.json").write_text('{"format": "impkit.scale/2", "rows": []}')
    with pytest.raises(ValueError, match=r"bad\.json.*record --preset default --seeds 0,1,2 --dataset bad"):
        S.load_recorded("bad", tmp_path)
    (tmp_path / "torn.json").write_text('{"format": ')
    with pytest.raises(ValueError, match="torn.json"):
        S.load_recorded("torn", tmp_path)
    (tmp_path / "empty.json").write_text(f'{{"format": "{S.FORMAT}", "rows": []}}')
    with pytest.raises(ValueError, match="without rows"):
        S.load_recorded("empty", tmp_path)


def _rows(width, null, acc, method, dataset="d", seeds=(0, 1, 2), last=2):
    """Synthetic rows of one condition: per-seed widths (seeds,) at the last round, the null's, accuracies."""
    out = []
    for i, s in enumerate(seeds):
        for n in range(last + 1):
            at_last = n == last
            out.append({"dataset": dataset, "method": method, "seed": s, "round": n, "sparsity": 0.3 * n,
                        "sigma_paper_median": width[i], "frac_detected": 0.9 if method == "imp" else 0.05,
                        "sigma_x_median": 3.0, "li_mean": 2.0 if method == "imp" else 1.0, "test_acc": acc[i],
                        "null_sigma_paper_median": null[i] if at_last else float("nan"),
                        "null_frac_detected": 0.05 if at_last else float("nan"), "null_sigma_x_median": None,
                        "null_li_mean": 1.0 if at_last else float("nan")})
    return out


def test_last_round_effects_judge_each_method_against_its_null_and_imp():
    from impkit import verdicts

    rows = (_rows([5.0, 5.2, 4.9], [8.0, 8.1, 7.9], [0.90, 0.91, 0.90], "imp")
            + _rows([8.0, 8.1, 7.9], [8.05, 8.0, 7.95], [0.80, 0.79, 0.81], "snip")
            + _rows([7.9, 8.2, 8.0], [8.0, 8.1, 7.9], [0.85, 0.86, 0.84], "snip", dataset="d-clone"))
    eff = {str(e["condition"]): e for e in S.last_round_effects(rows)}
    assert eff["imp"]["locality"].verdict == verdicts.REPRODUCED  # null − IMP ≈ 3 px > δ
    assert eff["imp"]["locality"].mean == pytest.approx(8.0 - 5.0333, abs=1e-3)
    assert eff["snip"]["locality"].verdict == verdicts.NOT_REPRODUCED  # within ±δ of its null
    assert eff["imp"]["accuracy_vs_imp"] is None
    assert eff["snip"]["accuracy_vs_imp"].verdict == verdicts.OPPOSITE  # 10 points below IMP
    assert eff["imp"]["robustness"]["detection rate"].verdict == verdicts.REPRODUCED
    assert eff["snip"]["robustness"]["width (detected units)"].verdict == verdicts.UNDEFINED  # null has none
    assert eff["snip"]["clone_minus_data"] is not None and eff["snip clone"]["clone_minus_data"] is None
    assert eff["imp"]["clone_minus_data"] is None  # no IMP on the clone here
    assert eff["snip clone"]["accuracy_vs_imp"] is None  # no IMP on the clone to compare with
    assert eff["snip"]["round"] == 2 and eff["snip"]["seeds"] == [0, 1, 2]


def test_record_cli_refuses_unknown_methods(capsys):
    assert S.main(["record", "--methods", "imp,nope", "--dataset", "toy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("impkit: error: --methods: unknown method(s) nope")
