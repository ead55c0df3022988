"""gaussian-longrange and the local readability measure: known answers on synthetic data."""
import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data import longrange as lr
from impkit.metrics.readability import local_readability, window_origins


def test_classes_are_periodic_and_antiperiodic():
    ds = data.load("gaussian-longrange", seed=0, n_train=400, L=12, xi=1.0)
    x = ds.x.view(-1, 12, 12)
    h = 6
    assert torch.allclose(x[ds.y == 0][:, :, :h], x[ds.y == 0][:, :, h:], atol=1e-5)
    assert torch.allclose(x[ds.y == 1][:, :, :h], -x[ds.y == 1][:, :, h:], atol=1e-5)
    assert ds.num_classes == 2 and abs(int((ds.y == 0).sum()) - 200) == 0
    assert abs(float(x.var()) - 1) < 0.1


def test_class_covariances_agree_except_near_half_the_side():
    L, xi = 24, 2.0
    c0, c1 = lr.class_covariance_row(L, xi, 0), lr.class_covariance_row(L, xi, 1)
    dx = np.minimum(np.arange(L), L - np.arange(L))
    near = np.abs(dx - L // 2) < 4 * xi  # within 4 xi of the half side along x (module docstring)
    assert np.abs(c0 - c1)[:, ~near].max() < 1e-6
    assert np.abs(c0 - c1)[0, L // 2] > 1.9  # +1 against -1
    assert c0[0, 0] == pytest.approx(1) and c1[0, 0] == pytest.approx(1)
    # the sampled field has that covariance (class 1, a few displacements)
    ds = data.load("gaussian-longrange", seed=1, n_train=4000, L=L, xi=xi)
    x = ds.x.view(-1, L, L)[ds.y == 1].double()
    for dy, dxx in [(0, 1), (1, 1), (0, 12), (2, 12)]:
        emp = float((x * torch.roll(x, (-dy, -dxx), (1, 2))).mean())
        assert emp == pytest.approx(c1[dy, dxx], abs=0.03)


def test_deterministic_and_bad_options():
    a = data.load("gaussian-longrange", seed=3, n_train=50, L=8)
    b = data.load("gaussian-longrange", seed=3, n_train=50, L=8)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, data.load("gaussian-longrange", seed=4, n_train=50, L=8).x)
    for opts, needle in [({"L": 7}, "data.options.L"), ({"xi": -1.0}, "data.options.xi"),
                         ({"n_train": 1}, "data.options.n_train"), ({"width": 3}, "width")]:
        with pytest.raises(ValueError, match=needle):
            data.load("gaussian-longrange", **opts)


def test_window_origins_cover_the_image():
    o = window_origins(28, 28, 5)
    assert (0, 0) in o and (23, 23) in o and len(o) == 36
    with pytest.raises(ValueError, match="window side"):
        window_origins(4, 4, 5)


def _local_signal(n=4000, L=12, seed=0):
    """White noise; class 1 has variance 4 inside the 4 x 4 block at (8, 0) and nowhere else."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, L, L))
    x[y == 1, 8:12, 0:4] *= 2.0
    return x.reshape(n, -1), y


def test_readability_finds_a_local_signal_and_where_it_is():
    x, y = _local_signal()
    r = local_readability(x, y, (1, 12, 12), k=4, seed=0)
    assert r["best"] > 0.85 and r["best_window"] == (8, 0)
    assert r["mean"] < r["best"] - 0.2  # the other windows carry nothing
    assert abs(r["chance"] - 0.5) < 0.05


def test_readability_is_chance_without_a_local_signal():
    x, y = _local_signal()
    rng = np.random.default_rng(1)
    r = local_readability(x, rng.permutation(y), (1, 12, 12), k=4, seed=0)  # labels unrelated to the inputs
    assert r["best"] < r["chance"] + 0.05
    ds = data.load("gaussian-longrange", seed=0, n_train=4000, L=16, xi=1.5)  # signal only 8 px apart
    r = local_readability(ds.x.numpy(), ds.y.numpy(), ds.image_shape, k=4, seed=0)
    assert r["best"] < r["chance"] + 0.05, r
    # ... while a window as wide as the half side reads it
    r = local_readability(ds.x.numpy(), ds.y.numpy(), ds.image_shape, k=9, seed=0, stride=7)
    assert r["best"] > 0.9


def test_readability_refuses_bad_shapes():
    with pytest.raises(ValueError, match="x must be"):
        local_readability(np.zeros((10, 10)), np.zeros(10), (1, 4, 4))
    with pytest.raises(ValueError, match="labels"):
        local_readability(np.zeros((10, 16)), np.zeros(9), (1, 4, 4))
