"""Gaussian clones: moments agree to sampling error, no higher cumulants; the check has power."""
import math

import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data.base import Dataset
from impkit.data.clone import clone_moment_check, gaussian_clone


@pytest.fixture(scope="module")
def real():
    # strongly non-Gaussian labelled data (NLGP, g=10: pixel excess kurtosis ~ -1.9), D = 16
    return data.load("nlgp", dim=1, L=16, g=10.0, n_train=1600, device="cpu", seed=2)


def test_clone_matches_moments(real):
    cl = data.gaussian_clone(real, seed=0)
    assert cl.name == "nlgp-clone" and cl.shift is None and cl.scale == 1.0 and cl.x.dtype == torch.float32
    assert (cl.y == real.y).all() and cl.image_shape == real.image_shape
    r = clone_moment_check(real, cl, n_proj=32, seed=1)
    assert all(r["ok"].values()), r["ok"]
    # real data: clearly non-Gaussian pixels (many standard errors from 0); the clone is not
    assert (r["pixel_kurtosis_real"] < -10 * r["kurtosis_se"]).all()
    assert np.abs(r["proj_kurtosis_clone"]).max() < r["z_bound"] * r["kurtosis_se"].max() + 6 / 800


def test_check_has_power(real):
    cl = gaussian_clone(real, seed=0)
    too_wide = Dataset(cl.x * 1.1, cl.y, cl.image_shape, cl.num_classes, cl.name)
    r = clone_moment_check(real, too_wide)
    assert not r["ok"]["var_z"] and not r["ok"]["cov_ratio"]
    shifted = Dataset(cl.x + 0.15, cl.y, cl.image_shape, cl.num_classes, cl.name)
    assert not clone_moment_check(real, shifted)["ok"]["mean_z"]
    # the real data's own (held-out) samples fail the kurtosis check
    other = data.load("nlgp", dim=1, L=16, g=10.0, n_train=1600, device="cpu", seed=3)
    assert not clone_moment_check(real, other)["ok"]["clone_kurtosis"]


def test_low_rank_case_without_dxd(real):
    # fewer rows per class than dimensions (like ImageNet32): exercises the Gram-matrix path
    ds = data.load("nlgp", dim=2, L=8, g=3.0, n_train=100, device="cpu", seed=4)  # 50 per class, D = 64
    cl = gaussian_clone(ds, seed=1, n=4000)
    # every clone sample lies in mu_c + span of the class's centred rows (rank <= n_c - 1)
    for c in (0, 1):
        xc = ds.x[ds.y == c].double()
        a = xc - xc.mean(0)
        q = cl.x[cl.y == c].double() - xc.mean(0)
        resid = q - q @ torch.linalg.pinv(a) @ a
        assert resid.norm() / q.norm() < 1e-4
    r = clone_moment_check(ds, cl, n_proj=16)
    assert r["ok"]["mean_z"] and r["ok"]["var_z"] and r["ok"]["mean_ratio"] and r["ok"]["cov_ratio"]


def test_per_channel_and_shrinkage():
    rgb = data.load("photos", color="rgb", size=4, n_train=1800, images=["astronaut", "coffee", "china"], seed=0)
    cl = gaussian_clone(rgb, seed=2, per_channel=True)
    r_all = clone_moment_check(rgb, cl, n_proj=16)
    assert not r_all["ok"]["var_z"]  # cross-channel correlations are gone on purpose
    for ch in range(3):
        b = slice(16 * ch, 16 * (ch + 1))
        sub = lambda d: Dataset(d.features()[:, b], d.y, (1, 4, 4), d.num_classes, d.name)  # noqa: E731
        r = clone_moment_check(sub(rgb), sub(cl), n_proj=16, seed=ch)
        assert r["ok"]["mean_z"] and r["ok"]["var_z"] and r["ok"]["cov_ratio"], (ch, r["ok"])
    # shrinkage alpha: covariance (1-alpha) Sigma_c + alpha Sigma_pool, checked along random directions
    alpha, m = 0.5, 6000
    f, y = rgb.features().double(), rgb.y
    cl = gaussian_clone(rgb, seed=3, shrinkage=alpha, labels=torch.zeros(m, dtype=torch.int64))
    cen = torch.cat([f[y == c] - f[y == c].mean(0) for c in range(3)])
    pooled = cen.T @ cen / (len(f) - 3)
    target = (1 - alpha) * torch.cov(f[y == 0].T) + alpha * pooled
    u = torch.randn(48, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    s2 = torch.var(cl.x.double() @ u, dim=0)
    var_u = ((u * (target @ u)).sum(0))
    k = m - 1
    z = ((s2 / var_u) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    assert z.abs().max() < 4.1  # Bonferroni, 20 tests, 1e-3
    assert (cl.x.double().mean(0) - f[y == 0].mean(0)).abs().max() < 0.05


def test_load_clone_route():
    kw = dict(dim=1, L=8, g=2.0, n_train=300, n_test=120, device="cpu")
    base_tr = data.load("nlgp", seed=5, **kw)
    base_te = data.load("nlgp", split="test", seed=5, **kw)
    tr = data.load("nlgp-clone", seed=5, **kw)
    te = data.load("nlgp-clone", split="test", seed=5, **kw)
    assert tr.name == "nlgp-clone" and tr.shift is None
    assert (tr.y == base_tr.y).all() and (te.y == base_te.y).all() and len(te) == 120
    again = data.load("nlgp-clone", seed=5, **kw)
    other = data.load("nlgp-clone", seed=6, **kw)
    assert torch.equal(tr.x, again.x) and not torch.allclose(tr.x[:120], te.x) and not torch.allclose(tr.x, other.x)
    sh = data.load("nlgp-clone", seed=5, shrinkage=0.3, per_channel=True, **kw)
    assert sh.info["clone"]["shrinkage"] == 0.3
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'shrink'"):
        data.load("nlgp-clone", shrink=0.3, **kw)
    with pytest.raises(ValueError, match=r"gaussian_clone: unknown option\(s\) 'foo'"):
        data.gaussian_clone(base_tr, foo=1)


def test_clone_in_normalised_space(tmp_path):
    # uint8 data with shift/scale: the clone lives in the normalised features of the base
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (400, 12), generator=g, dtype=torch.uint8)
    ds = Dataset(x, torch.arange(400) % 2, (3, 2, 2), 2, "toy", shift=torch.full((12,), 100.0), scale=255.0)
    cl = gaussian_clone(ds, seed=0)
    assert cl.x.dtype == torch.float32 and cl.shift is None
    assert (cl.x.mean(0) - ds.features().mean(0)).abs().max() < 0.05
    assert clone_moment_check(ds, cl, n_proj=8)["ok"]["mean_z"]


def test_half_precision_clone(real):
    # the paper preset stores its clone in float16: half the bytes, the same moments to sampling error
    c32 = gaussian_clone(real, seed=0)
    c16 = gaussian_clone(real, seed=0, dtype="float16")
    assert c16.x.dtype == torch.float16 and c16.x.element_size() * 2 == c32.x.element_size()
    assert c16.info["clone"]["dtype"] == "float16"
    # the same draw, rounded once: relative error of half precision
    f16 = c16.features()
    assert f16.dtype == torch.float32
    assert torch.allclose(f16, c32.x, rtol=2**-10, atol=1e-4)
    assert all(clone_moment_check(real, c16, n_proj=32, seed=1)["ok"].values())
    with pytest.raises(ValueError, match="clone_dtype"):
        gaussian_clone(real, seed=0, dtype="int8")


def test_clone_dtype_through_load():
    cl = data.load("nlgp-clone", dim=1, L=8, g=3.0, n_train=200, n_test=50, device="cpu", clone_dtype="float16")
    assert cl.x.dtype == torch.float16 and len(cl) == 200


def test_many_rows_per_class_sample_in_dimension_not_rows(monkeypatch):
    # n_c = 2,000 rows per class, D = 16: the clone must draw (m, D) normals, not (m, n_c) ones -- the old code
    # asked for an (m, n_c) matrix, 57 GB at 120,000 rows per class (the scale study's largest rung)
    ds = data.load("nlgp", dim=1, L=16, g=10.0, n_train=4000, device="cpu", seed=5)
    shapes = []
    real_randn = torch.randn

    def spy(*size, **kw):
        shapes.append(tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size)
        return real_randn(*size, **kw)

    monkeypatch.setattr(torch, "randn", spy)
    cl = gaussian_clone(ds, seed=0)
    monkeypatch.undo()
    assert shapes and max(s[-1] for s in shapes) <= 16, shapes
    r = clone_moment_check(ds, cl, n_proj=16)
    assert r["ok"]["mean_z"] and r["ok"]["var_z"] and r["ok"]["cov_ratio"] and r["ok"]["mean_ratio"], r["ok"]


# fit_per_class (the paper's ~100 images per class) and shrinkage: the clone options of the decisive experiments
NLGP = {"dim": 2, "L": 12, "n_train": 1200, "n_test": 200, "xi0": 1.0, "xi1": 2.0}


def _class_rank(ds, c):
    xc = ds.features()[ds.y == c].double()
    return int(torch.linalg.matrix_rank(xc - xc.mean(0), rtol=1e-6))


def test_fit_per_class_gives_low_rank_classes_and_shrinkage_full_rank():
    full = data.load("nlgp-clone", seed=0, **NLGP)
    few = data.load("nlgp-clone", seed=0, fit_per_class=80, **NLGP)
    shrunk = data.load("nlgp-clone", seed=0, fit_per_class=80, shrinkage=0.5, **NLGP)
    assert few.info["clone"]["fit_per_class"] == 80 and len(few) == len(full)
    assert _class_rank(full, 0) == 144
    assert _class_rank(few, 0) <= 79 and _class_rank(few, 1) <= 79  # rank <= n_c - 1: its own subspace
    assert _class_rank(shrunk, 0) == 144  # the pooled covariance of 2 x 80 rows has full rank 144
    again = data.load("nlgp-clone", seed=0, fit_per_class=80, **NLGP)
    assert torch.equal(few.x, again.x)
    test = data.load("nlgp-clone", split="test", seed=0, fit_per_class=80, **NLGP)
    # train and test clones share one fit: test rows lie in the train rows' class subspace
    a = few.features()[few.y == 0].double()
    b = test.features()[test.y == 0].double()
    mu = a.mean(0)
    q, _ = torch.linalg.qr((a - mu).T)
    resid = (b - mu) - ((b - mu) @ q[:, :79]) @ q[:, :79].T
    assert float(resid.norm() / (b - mu).norm()) < 1e-4


@pytest.mark.parametrize("value, needle", [(1, "at least 2"), (100000, "fewer than")])
def test_fit_per_class_refused_by_name(value, needle):
    with pytest.raises(ValueError, match=f"data.options.fit_per_class: .*{needle}"):
        data.load("nlgp-clone", seed=0, fit_per_class=value, **NLGP)
