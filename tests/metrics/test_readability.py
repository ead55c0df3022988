"""Local readability (one k x k window, quadratic discriminant): known answers on synthetic data."""
import numpy as np
import pytest

import impkit.data as data
from impkit.metrics.readability import local_readability, window_origins



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
