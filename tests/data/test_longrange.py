"""gaussian-longrange: classes periodic and antiperiodic, their covariances, determinism, refusals."""
import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data import longrange as lr



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
