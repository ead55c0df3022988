"""Masks that change during training beyond SET: RigL's gradient regrowth and cosine-decayed ζ (impkit.dynamic),
checked against a direct computation on unstacked tiny models, through the round driver (IMP's counts, a replica
alone equals itself in a batch, a kill mid-round then resume equals the uninterrupted run), and the memory plan's
account of mask updates (impkit.plan.dynamic_bytes, runs.check_memory)."""
import dataclasses
import math

import numpy as np
import pytest
from conftest import kill_at_round_1_checkpoint_and_resume, same_params
import torch
from torch import nn

from impkit import plan
from impkit import sparsifiers as S
from impkit.dynamic import RIGL_BATCH, Dynamics, ReplicaDynamics, dense_gradients
from impkit.model import build_model
from impkit.presets import make_config
from impkit.runs import ensure_runs
from impkit.seeding import derive_seed
from impkit.train import ReplicaData

OV = {"train.steps": 300, "train.t_rewind": 20, "train.eval_every": 60, "train.checkpoint_every": 0,
      "prune.rounds": 3, "model.hidden": (12,), "data.options.n_train": 256, "data.options.n_test": 64}


def _setup(R=3, dims=(10, 7, 3), N=50, seed=0):
    """A stacked model of R replicas with random masks (weights zero where masked) and one dataset for all."""
    g = torch.Generator().manual_seed(seed)
    cfg = make_config("ci", "toy", "rigl", 0, {"model.hidden": (dims[1],)})
    model = build_model(cfg.model, dims[0], dims[-1], R, seeds=list(range(R)))
    with torch.no_grad():
        for l in range(model.num_layers):
            model.mask(l).copy_((torch.rand(model.mask(l).shape, generator=g) < 0.5).float())
    model.apply_masks()
    x = torch.randn(N, dims[0], generator=g)
    y = torch.randint(0, dims[-1], (N,), generator=g)
    data = ReplicaData(x=x, y=y, offsets=torch.zeros(R, dtype=torch.long), sizes=[N] * R, shift=None, scale=None,
                       test_x=x[:5], test_y=y[:5], test_offsets=torch.zeros(R, dtype=torch.long), n_test=5,
                       num_classes=dims[-1])
    return model, data


def _direct_gradient(model, data, r, seed, n, t, batch):
    """∂L/∂W of replica r alone, as an nn.Sequential of its effective weights (autograd), on RigL's minibatch."""
    g = torch.Generator().manual_seed(derive_seed(seed, RIGL_BATCH, n, t))
    idx = torch.randint(data.sizes[r], (batch,), generator=g)
    layers = []
    for l in range(model.num_layers):
        w = model.weights[l][r].detach()
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w * model.mask(l)[r])
            lin.bias.copy_(model.biases[l][r].detach())
        layers += [lin, nn.ReLU()] if l < model.num_layers - 1 else [lin]
    net = nn.Sequential(*layers)
    nn.functional.cross_entropy(net(data.x[idx]), data.y[idx]).backward()
    return [lin.weight.grad for lin in layers[::2]]


def test_dense_gradients_equal_autograd_of_each_replica_alone():
    model, data = _setup()
    rows, seeds = [0, 2], [5, 7]
    G = dense_gradients(model, data, rows, seeds, n=1, t=40, batch=16)
    for i, (r, s) in enumerate(zip(rows, seeds)):
        want = _direct_gradient(model, data, r, s, 1, 40, 16)
        for l, gw in enumerate(want):
            assert torch.allclose(G[l][i], gw, rtol=1e-5, atol=1e-7), (r, l)
            inactive = model.mask(l)[r] < 0.5
            assert (G[l][i][inactive] != 0).any()  # dense: inactive entries have their gradient too
    other = dense_gradients(model, data, rows, seeds, n=1, t=41, batch=16)  # another step, another minibatch
    assert not torch.equal(other[0], G[0])


def test_dense_gradients_normalise_each_replicas_rows_as_training_does():
    """With a per-replica shift and scale (the stacked batch's standardisation), the gradient of replicas 0 and 2
    is the one on their own normalised rows."""
    model, data = _setup()
    R, D = len(data.sizes), data.dim
    g = torch.Generator().manual_seed(3)
    shift, scale = torch.randn(R, 1, D, generator=g), 1 + torch.rand(R, 1, 1, generator=g)
    shifted = dataclasses.replace(data, shift=shift, scale=scale)
    rows, seeds = [0, 2], [5, 7]
    G = dense_gradients(model, shifted, rows, seeds, n=1, t=40, batch=16)
    for i, r in enumerate(rows):
        own = dataclasses.replace(data, x=(data.x - shift[r, 0]) / scale[r, 0, 0])   # rows normalised beforehand
        want = _direct_gradient(model, own, r, seeds[i], 1, 40, 16)
        for l, gw in enumerate(want):
            assert torch.allclose(G[l][i], gw, rtol=1e-5, atol=1e-6), (r, l)


def test_cosine_zeta_and_drop_counts():
    d = Dynamics(zeta=0.3, stop_fraction=0.75, regrow="gradient", decay="cosine")
    assert d.zeta_at(100, 100, 500) == pytest.approx(0.3)
    assert d.zeta_at(250, 100, 500) == pytest.approx(0.15)  # halfway to the last update (t0 + 0.75 (T - t0) = 400)
    assert d.zeta_at(400, 100, 500) == pytest.approx(0.0, abs=1e-12)
    assert d.zeta_at(200, 100, 500) == pytest.approx(0.15 * (1 + math.cos(math.pi / 3)))
    assert Dynamics().zeta_at(250, 100, 500) == 0.3  # SET: constant
    assert d.drop_counts(10, 100, 0.15) == 2 and d.drop_counts(10, 12, 0.5) == 2  # rounded half up; at most N - k
    with pytest.raises(ValueError):
        Dynamics(regrow="momentum")
    with pytest.raises(ValueError):
        Dynamics(decay="linear")


def test_rigl_update_drops_smallest_and_regrows_largest_gradients_at_zero():
    model, data = _setup(seed=3)
    dyn = Dynamics(period=10, zeta=0.3, stop_fraction=0.75, regrow="gradient", decay="cosine")
    rows, seeds, t, n = [0, 2], [5, 7], 30, 2
    kept = [[int(model.mask(l)[r].sum()) for l in range(model.num_layers)] for r in rows]
    rd = ReplicaDynamics(model, rows, seeds, [dyn, dyn], kept, n=n, t0=0, T=100, data=data, batch=16)
    assert rd.steps == [10, 20, 30, 40, 50, 60, 70]
    G = dense_gradients(model, data, rows, seeds, n, t, 16)
    W0 = [w.detach().clone() for w in model.weights]
    M0 = [m.clone() for m in model.masks()]
    rd(t)
    zeta = dyn.zeta_at(t, 0, 100)
    for l in range(model.num_layers):
        assert torch.equal(model.mask(l)[1], M0[l][1]) and torch.equal(model.weights[l][1], W0[l][1])  # not dynamic
        for i, r in enumerate(rows):
            before, after = M0[l][r].bool().flatten(), model.mask(l)[r].bool().flatten()
            d = dyn.drop_counts(int(before.sum()), before.numel(), zeta)
            assert d > 0 and int(after.sum()) == int(before.sum())
            gone, grown = before & ~after, ~before & after
            assert int(gone.sum()) == d == int(grown.sum())
            w, g = W0[l][r].flatten().abs(), G[l][i].flatten().abs()
            assert w[gone].max() <= w[before & after].min()  # the smallest kept magnitudes are dropped
            assert g[grown].min() >= g[~before & ~grown].max()  # the largest gradients among the inactive regrow
            new = model.weights[l][r].detach().flatten()
            assert (new[grown] == 0).all() and (new[~after] == 0).all()
            assert torch.equal(new[before & after], W0[l][r].flatten()[before & after])


def test_gradient_regrowth_needs_data():
    model, _ = _setup()
    with pytest.raises(ValueError, match="gradient regrowth"):
        ReplicaDynamics(model, [0], [0], [S.RIGL_DYNAMICS], [[5, 5]], n=1, t0=0, T=100)


# ------------------------------------------------------------------------------------------------
# through the round driver
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rigl_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rigl")
    return {r.method: r for r in ensure_runs("ci", "toy", methods=("imp", "set", "rigl"), seeds=(0,), root=root,
                                             overrides=OV, progress=False)}


def test_rigl_keeps_imps_counts_and_its_mask_moves_unlike_sets(rigl_runs):
    imp, rigl, set_ = rigl_runs["imp"], rigl_runs["rigl"], rigl_runs["set"]
    assert rigl.rounds_done == [0, 1, 2, 3]
    for n in range(4):
        assert [int(m.sum()) for m in rigl.mask(n)] == [int(m.sum()) for m in imp.mask(n)], n
    from impkit import prune

    start, _ = prune.random_masks([m.shape for m in rigl.mask(0)], rigl.config.prune, 2, rigl.config.seed)
    end = rigl.mask(2)[0]
    assert not np.array_equal(end, start[0].numpy())  # drop and gradient regrowth moved it
    assert not np.array_equal(end, set_.mask(2)[0])  # ... elsewhere than SET's random regrowth
    assert (rigl.weights(2)[0][0][~end] == 0).all()


def test_a_rigl_replica_alone_equals_itself_in_a_batch(rigl_runs, tmp_path):
    alone = ensure_runs("ci", "toy", methods=("rigl",), seeds=(0,), root=tmp_path, overrides=OV, progress=False)[0]
    batched = rigl_runs["rigl"]
    for n in range(4):
        assert all(np.array_equal(a, b) for a, b in zip(alone.mask(n), batched.mask(n))), n
        assert same_params(alone.weights(n), batched.weights(n)), n



def test_rigl_killed_mid_round_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch):
    ov = {**OV, "train.steps": 300, "train.checkpoint_every": 150, "prune.rounds": 1}
    cfg = make_config("ci", "toy", "rigl", 0, ov)
    # the round-1 checkpoint at step 150 (after the mask update at 120) is written, then "kill"
    clean, killed = kill_at_round_1_checkpoint_and_resume(cfg, tmp_path, monkeypatch, 150)
    for n in (0, 1):
        assert all(np.array_equal(a, b) for a, b in zip(killed.mask(n), clean.mask(n)))
        assert same_params(killed.weights(n), clean.weights(n))


# ------------------------------------------------------------------------------------------------
# the memory plan
# ------------------------------------------------------------------------------------------------
def test_dynamic_bytes_count_the_sorts_and_rigls_gradients():
    dims, batch = [576, 128, 2], 40
    assert plan.dynamic_bytes(dims, [None, None], batch) == 0
    set_ = plan.dynamic_bytes(dims, [None, S.SET_DYNAMICS, S.SET_DYNAMICS], batch)
    assert set_ == plan.SORT_BYTES_PER_WEIGHT * 2 * 576 * 128  # two replicas' largest layer in one chunk
    rigl = plan.dynamic_bytes(dims, [S.RIGL_DYNAMICS, S.SET_DYNAMICS], batch)
    assert rigl == set_ + 8 * (576 * 128 + 128 * 2) + 4 * batch * (576 + 2 * 130)
    # the paper's network: chunks of max(1, 2^24 // N) replicas bound the sorts whatever the batch; the largest
    # chunk is the 1024 x 1024 layer's, 16 replicas (the first layer's is 5 x 3072 x 1024 = 15.7 M weights)
    big = [3072, 1024, 1024, 1000]
    assert plan.dynamic_bytes(big, [S.SET_DYNAMICS] * 40, batch) == plan.SORT_BYTES_PER_WEIGHT * 16 * 1024 * 1024
    assert plan.dynamic_bytes(big, [S.SET_DYNAMICS] * 3, batch) == plan.SORT_BYTES_PER_WEIGHT * 3 * 3072 * 1024


def test_memory_plan_and_check_memory_account_for_mask_updates(monkeypatch):
    cfg_imp = make_config("default", "nlgp", "imp", 0, {"model.output_dim": 2})  # no data loaded for the class count
    cfg_set = make_config("default", "nlgp", "set", 0, {"model.output_dim": 2})
    fp = plan.DataFootprint("k", "nlgp", 1000, 100, 576, 4, "float32")
    dims = [576, 128, 2]
    fixed = plan.batch_bytes([fp], dims, False, 40, "cpu", dynamics=[None])
    moving = plan.batch_bytes([fp], dims, False, 40, "cpu", dynamics=[S.SET_DYNAMICS])
    assert moving.total_bytes - fixed.total_bytes == plan.dynamic_bytes(dims, [S.SET_DYNAMICS], 40) > 0
    budget = (fixed.total_bytes + moving.total_bytes) // 2
    plan.check_replica_fits(cfg_imp, fp, dims, "cpu", budget, "test")
    with pytest.raises(plan.MemoryPlanError, match="workspace"):
        plan.check_replica_fits(cfg_set, fp, dims, "cpu", budget, "test")
    # a batch of SET replicas is split where the same IMP replicas fit together
    one_set = moving.total_bytes
    assert plan.batch_bytes([fp, fp], dims, False, 40, "cpu", dynamics=[None, None]).total_bytes <= one_set
    assert len(plan.split_batches([fp, fp], dims, False, 40, "cpu", one_set, dynamics=[None, None])) == 1
    assert len(plan.split_batches([fp, fp], dims, False, 40, "cpu", one_set,
                                  dynamics=[S.SET_DYNAMICS, S.SET_DYNAMICS])) == 2
    with pytest.raises(plan.MemoryPlanError, match="workspace"):  # one SET replica alone cannot fit
        plan.split_batches([fp], dims, False, 40, "cpu", fixed.total_bytes, dynamics=[S.SET_DYNAMICS])
    # runs.check_memory (preflight) uses the same account: SET refused, IMP accepted at a budget between them
    from impkit import runs

    monkeypatch.setattr(plan, "dataset_footprint", lambda c: fp)
    runs.check_memory([cfg_imp], device="cpu", memory_budget=budget)
    with pytest.raises(plan.MemoryPlanError):
        runs.check_memory([cfg_set], device="cpu", memory_budget=budget)
