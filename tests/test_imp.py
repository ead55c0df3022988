import numpy as np
import pytest
import torch

from impkit.presets import make_config
from impkit.prune import keep_counts
from impkit.runs import ensure_runs, list_runs, load_run, train_configs
from impkit.train import evaluate, stack_datasets

OV = {"train.steps": 120, "train.t_rewind": 10, "train.eval_every": 55, "train.checkpoint_every": 40,
      "prune.rounds": 3, "model.hidden": (16,), "data.options.n_train": 256, "data.options.n_test": 64}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return ensure_runs("ci", "toy", seeds=(0, 1), root=root, overrides=OV, progress=False)


def test_layout_and_counts(runs):
    assert len(runs) == 6 and {(r.method, r.seed) for r in runs} == {(m, s) for m in ("imp", "oneshot", "random")
                                                                     for s in (0, 1)}
    for r in runs:
        assert r.rounds_done == [0, 1, 2, 3]
        for f in ("config.json", "round_00/rewind.npz", "round_03/mask.npz", "round_03/trained.npz",
                  "round_03/metrics.json", "round_03/sparsity.json"):
            assert (r.path / f).exists(), f
        assert not list(r.path.rglob("checkpoint.pt")) and not (r.path / ".lock").exists()
        for n in range(4):
            counts = [int(m.sum()) for m in r.mask(n)]
            assert counts == [keep_counts(64 * 16, 0.3, n)[-1], keep_counts(16 * 2, 0.15, n)[-1]]
            assert [e["kept"] for e in r.sparsity(n)["layers"]] == counts
            # pruned weights are exactly zero after training; biases never pruned
            for (W, b), m in zip(r.weights(n), r.mask(n)):
                assert (W[~m] == 0).all() and (W[m] != 0).mean() > 0.99
                assert (b != 0).all()
            assert all(bm.all() for bm in r.bias_mask(n))


def test_methods_differ_as_they_should(runs):
    by = {(r.method, r.seed): r for r in runs}
    for s in (0, 1):
        imp, one, rnd = by["imp", s], by["oneshot", s], by["random", s]
        # round 0 is shared (trained once), round 1 of IMP and one-shot coincide by definition
        assert np.array_equal(imp.weights(0)[0][0], one.weights(0)[0][0])
        assert np.array_equal(imp.weights(0)[0][0], rnd.weights(0)[0][0])
        assert all(np.array_equal(a, b) for a, b in zip(imp.mask(1), one.mask(1)))
        assert not np.array_equal(imp.mask(3)[0], rnd.mask(3)[0])
        assert not np.array_equal(imp.mask(3)[0], one.mask(3)[0])
        # one-shot masks come from the dense round-0 weights
        W0 = np.abs(imp.weights(0)[0][0])
        m = one.mask(3)[0]
        assert W0[m].min() >= W0[~m].max()
    assert not np.array_equal(by["imp", 0].mask(2)[0], by["imp", 1].mask(2)[0])


def test_rewind_is_exact(runs):
    r = [x for x in runs if x.method == "imp"][0]
    rw = np.load(r.path / "round_00" / "rewind.npz", allow_pickle=False)
    for n in (1, 3):
        for l, ((W, b), m) in enumerate(zip(r.weights(n, "rewind"), r.mask(n))):
            assert np.array_equal(W, rw[f"W{l}"] * m) and np.array_equal(b, rw[f"b{l}"])
        # training of round n started exactly from θ(t_rewind) ⊙ m(n): the logged eval at t_rewind matches
        model = r.model(n, "rewind")
        data = stack_datasets([r.load_data("train")], [r.load_data("test")])
        acc, loss = evaluate(model, data)
        ev = r.metrics(n)["eval"]
        assert ev["step"][0] == 10
        assert ev["test_loss"][0] == pytest.approx(float(loss[0]), abs=1e-6)
        assert ev["test_acc"][0] == pytest.approx(float(acc[0]), abs=1e-9)


def test_run_api(runs):
    r = runs[0]
    m = r.model(2)
    x = r.load_data("test").features()
    lam = m.first_layer_preactivations(x)[0].numpy()
    W, b = r.weights(2)[0]
    assert np.allclose(lam, x.numpy() @ W.T + b, atol=1e-5)
    met = r.metrics(2)
    assert {"eval", "train_curve", "wall_s", "steps_per_s", "final_test_acc"} <= set(met)
    assert met["replicas_in_batch"] == 6
    assert load_run(r.path).config == r.config
    assert len(list_runs(r.path.parent)) == 6


def test_bit_identical_across_runs_and_batching(runs, tmp_path):
    ref = {(r.method, r.seed): r for r in runs}
    # the IMP run of seed 1 alone, in a fresh root (its round 0 trained alone)
    again = train_configs([make_config("ci", "toy", "imp", 1, OV)], tmp_path, progress=False)[0]
    for n in range(4):
        assert all(np.array_equal(a, b) for a, b in zip(again.mask(n), ref["imp", 1].mask(n)))
        assert all(np.allclose(a[0], b[0], atol=1e-5) for a, b in zip(again.weights(n), ref["imp", 1].weights(n)))
    again2 = train_configs([make_config("ci", "toy", "imp", 1, OV)], tmp_path / "b", progress=False)[0]
    for n in range(4):
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(again.weights(n), again2.weights(n)))


def test_round0_reused_from_sibling(runs, tmp_path):
    cfg = make_config("ci", "toy", "imp", 0, OV)
    imp = train_configs([cfg], tmp_path, progress=False)[0]
    one = train_configs([cfg.replace(**{"prune.method": "oneshot"})], tmp_path, progress=False)[0]
    assert one.metrics(0)["wall_s"] == imp.metrics(0)["wall_s"]  # copied, not retrained
    assert np.array_equal(one.weights(0)[0][0], imp.weights(0)[0][0])


def test_stage_skipping(runs):
    r = runs[0]
    before = (r.path / "round_02" / "trained.npz").stat().st_mtime_ns
    again = ensure_runs("ci", "toy", seeds=(0, 1), root=r.path.parent, overrides=OV, progress=False)
    assert (r.path / "round_02" / "trained.npz").stat().st_mtime_ns == before
    assert [x.path for x in again] == [x.path for x in runs]
    torch.manual_seed(0)


def test_clone_runs_batch_with_data(tmp_path):
    ov = {**OV, "prune.rounds": 1, "train.steps": 40, "train.t_rewind": 5}
    rs = ensure_runs("ci", "toy", methods=("imp",), seeds=(0,), root=tmp_path, overrides=ov, clone=True,
                     progress=False)
    assert [r.dataset for r in rs] == ["toy", "toy-clone"]
    assert rs[1].metrics(1)["replicas_in_batch"] == 2
    assert not np.array_equal(rs[0].load_data("train").x.numpy(), rs[1].load_data("train").x.numpy())
