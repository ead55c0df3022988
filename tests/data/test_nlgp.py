"""NLGP: covariance vs the analytic one, kurtosis vs theory, Gaussian twin.

Tolerances come from sampling error: every estimate below is a mean of iid terms, its standard error is
estimated from the same sample, and the maximum |z| over all m compared entries is held to the two-sided
Bonferroni bound for a family-wise false-alarm rate of 1e-3 (CLT; n >= 4000 samples per class).
"""
import math

import numpy as np
import pytest
from scipy.special import erf
from scipy.stats import norm

import impkit.data as data
from impkit.data import nlgp

ALPHA = 1e-3


def bonferroni(m):
    return norm.isf(ALPHA / (2 * m))


def cov_z(x, target):
    """z-scores of the entries (upper triangle) of mean(x_i x_j) (mean known to be 0) against ``target``."""
    n, d = x.shape
    iu = np.triu_indices(d)
    prods = x[:, iu[0]] * x[:, iu[1]]
    est, se = prods.mean(0), prods.std(0, ddof=1) / math.sqrt(n)
    return (est - target[iu]) / se, est, se


def direct_twin_cov(dim, L, xi, g):
    """The formula of SPEC §4 written out directly (no FFT, no jitter)."""
    d = np.arange(L)
    dd = np.minimum(np.abs(d[:, None] - d[None, :]), L - np.abs(d[:, None] - d[None, :])) ** 2
    c1 = np.exp(-dd / xi**2)
    c = c1 if dim == 1 else np.kron(c1, c1)
    gam = (2 / np.pi) * np.arcsin(g**2 / (1 + g**2))
    return c, (2 / (np.pi * gam)) * np.arcsin(g**2 * c / (1 + g**2))


@pytest.mark.parametrize("dim,L", [(1, 12), (2, 6)])
def test_analytic_covariance_matches_formula(dim, L):
    for xi, g in [(1.0, 3.0), (1.5, 0.5)]:
        c, k = direct_twin_cov(dim, L, xi, g)
        np.testing.assert_allclose(nlgp.analytic_covariance(dim, L, xi), c, atol=1e-5)
        np.testing.assert_allclose(nlgp.analytic_covariance(dim, L, xi, g), k, atol=1e-5)


def test_non_psd_periodic_kernel_is_clipped():
    # On a small periodic grid the wrapped Gaussian kernel can have negative eigenvalues (L=5, xi=2):
    # they are clipped, so what is sampled is the nearest PSD circulant kernel, with unit diagonal.
    c = direct_twin_cov(1, 5, 2.0, 1.0)[0]
    assert np.linalg.eigvalsh(c).min() < -0.01
    for g in (None, 1.0):
        k = nlgp.analytic_covariance(1, 5, 2.0, g)
        assert np.linalg.eigvalsh(k).min() > 0
        np.testing.assert_allclose(np.diag(k), 1.0)


@pytest.mark.parametrize("dim,L", [(1, 12), (2, 6)])
@pytest.mark.parametrize("gaussian", [False, True])
def test_empirical_covariance_matches_analytic(dim, L, gaussian):
    g, xis = 3.0, (1.0, 1.5)
    ds = data.load("nlgp", dim=dim, L=L, xi0=xis[0], xi1=xis[1], g=g, n_train=8000, gaussian=gaussian,
                   device="cpu", seed=1)
    assert ds.image_shape == ((1, 1, L) if dim == 1 else (1, L, L))
    assert ds.x.dtype.is_floating_point and ds.shift is None and ds.scale == 1.0
    x, y = ds.x.double().numpy(), ds.y.numpy()
    assert abs((y == 0).sum() - (y == 1).sum()) <= 1
    for k, xi in enumerate(xis):
        target = direct_twin_cov(dim, L, xi, g)[1]
        z, _, _ = cov_z(x[y == k], target)
        assert np.abs(z).max() < bonferroni(z.size), (k, np.abs(z).max())
    # the means are 0: z-scores of pixel means
    zm = x.mean(0) / (x.std(0) / math.sqrt(len(x)))
    assert np.abs(zm).max() < bonferroni(zm.size)


def test_twin_matches_nlgp_covariance_two_sample():
    kw = dict(dim=1, L=10, xi0=1.0, xi1=2.0, g=2.0, n_train=8000, device="cpu")
    a = data.load("nlgp", seed=3, **kw)
    b = data.load("nlgp", seed=4, gaussian=True, **kw)
    for k in (0, 1):
        xa = a.x[a.y == k].double().numpy()
        xb = b.x[b.y == k].double().numpy()
        _, ea, sa = cov_z(xa, np.zeros((10, 10)))
        _, eb, sb = cov_z(xb, np.zeros((10, 10)))
        z = (ea - eb) / np.sqrt(sa**2 + sb**2)
        assert np.abs(z).max() < bonferroni(z.size)


def theory_fourth_moment(g):
    """E[x^4] for x = erf(g z / sqrt2) / sqrt(gamma(g)), z ~ N(0,1) (Gauss-Hermite, exact to ~1e-12)."""
    t, w = np.polynomial.hermite_e.hermegauss(200)
    return float((w * erf(g * t / math.sqrt(2)) ** 4).sum() / w.sum()) / nlgp.gamma(g) ** 2


@pytest.mark.parametrize("g,expect", [(0.01, "gaussian"), (0.3, "near"), (10.0, "sub")])
def test_kurtosis(g, expect):
    ds = data.load("nlgp", dim=2, L=6, g=g, n_train=6000, device="cpu", seed=5)
    x = ds.x.double().numpy()
    m4 = (x**4).mean(0)  # pixel variance is exactly 1, so E[x^4] is the (plain) kurtosis
    se = ((x**4).std(0, ddof=1) / math.sqrt(len(x))).max()  # the mean over pixels has an SE <= the largest
    kurt = m4.mean()
    theory = theory_fourth_moment(g)
    assert abs(kurt - theory) < 5 * se, (kurt, theory, se)
    if expect == "gaussian":
        assert abs(theory - 3) < 1e-3
        assert abs(kurt - 3) < 5 * se
    if expect == "sub":
        assert theory < 1.2
        assert kurt < 3 - 20 * se  # clearly non-Gaussian
    # g -> 0 tends to 3 monotonically
    assert theory_fourth_moment(1e-3) > theory_fourth_moment(0.3) > theory_fourth_moment(10.0)


def test_seeds_and_splits():
    kw = dict(dim=1, L=8, n_train=50, n_test=30, device="cpu")
    a, a2 = data.load("nlgp", seed=0, **kw), data.load("nlgp", seed=0, **kw)
    b, t = data.load("nlgp", seed=1, **kw), data.load("nlgp", split="test", seed=0, **kw)
    assert (a.x == a2.x).all() and (a.y == a2.y).all()
    assert len(t) == 30 and not np.allclose(a.x[:30].numpy(), t.x.numpy())
    assert not np.allclose(a.x.numpy(), b.x.numpy())
    assert "provenance" in a.info and "licence" in a.info and "normalisation" in a.info


def test_bad_options():
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'xi'.*valid options: .*xi0, xi1"):
        data.load("nlgp", xi=2.0)
    with pytest.raises(ValueError, match="dim must be 1 or 2"):
        data.load("nlgp", dim=3, device="cpu")
