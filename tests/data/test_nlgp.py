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


def direct_wrapped_1d(L, xi, images=60):
    """The wrapped kernel written out directly: (L, L) matrix sum_k exp(-(i - j + kL)^2/xi^2), over |k| <= images,
    divided by its diagonal value (no FFT, no truncation rule of the package)."""
    d = np.arange(L)
    diff = (d[None, :] - d[:, None]).astype(float)
    k = np.arange(-images, images + 1, dtype=float)
    c = np.exp(-((diff[None] + k[:, None, None] * L) ** 2) / xi**2).sum(0)
    return c / np.exp(-((k * L) ** 2) / xi**2).sum()


def direct_min_image_1d(L, xi):
    """exp(-d^2/xi^2) with d the minimum-image distance (the kernel impkit used before: not PSD for large xi/L)."""
    d = np.arange(L)
    a = np.abs(d[:, None] - d[None, :])
    return np.exp(-np.minimum(a, L - a) ** 2 / xi**2)


def direct_twin_cov(dim, L, xi, g):
    """(latent C, twin K) for the NLGP, written out directly (Kronecker product in 2-D, no FFT, no jitter)."""
    c1 = direct_wrapped_1d(L, xi)
    c = c1 if dim == 1 else np.kron(c1, c1)
    gam = (2 / np.pi) * np.arcsin(g**2 / (1 + g**2))
    return c, (2 / (np.pi * gam)) * np.arcsin(g**2 * c / (1 + g**2))


@pytest.mark.parametrize("dim,L", [(1, 12), (2, 6)])
def test_analytic_covariance_matches_formula(dim, L):
    # xi/L from 1/12 to 1/2: the last ones are where the minimum-image kernel is not PSD
    for xi, g in [(1.0, 3.0), (1.5, 0.5), (L / 4, 3.0), (L / 2, 10.0), (L / 2, 0.5)]:
        c, k = direct_twin_cov(dim, L, xi, g)
        np.testing.assert_allclose(nlgp.analytic_covariance(dim, L, xi), c, rtol=0, atol=1e-12)
        np.testing.assert_allclose(nlgp.analytic_covariance(dim, L, xi, g), k, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.diag(nlgp.analytic_covariance(dim, L, xi, g)), 1.0, rtol=0, atol=1e-14)


def test_wrapped_kernel_equals_min_image_for_short_xi():
    # for xi << L the images beyond the nearest one are negligible: the wrapped and minimum-image kernels agree
    L, xi = 28, 2.0
    np.testing.assert_allclose(nlgp.analytic_covariance(1, L, xi), direct_min_image_1d(L, xi), rtol=0, atol=1e-15)


@pytest.mark.parametrize("dim,L", [(1, 12), (1, 28), (2, 12)])
def test_kernel_is_psd_at_large_xi(dim, L):
    # xi/L = 0.5: the minimum-image kernel has clearly negative eigenvalues, the wrapped kernel (and its twin) none
    xi = L / 2
    old = direct_min_image_1d(L, xi)
    old = old if dim == 1 else np.kron(old, old)
    assert np.linalg.eigvalsh(old).min() < -0.2
    for g in (None, 0.5, 3.0, 10.0):
        ev = np.linalg.eigvalsh(nlgp.analytic_covariance(dim, L, xi, g))
        assert ev.min() >= -1e-12 * ev.max(), (g, ev.min(), ev.max())


@pytest.mark.parametrize("dim,L,xi", [(1, 12, 6.0), (1, 28, 14.0), (2, 12, 6.0), (2, 24, 3.0)])
def test_sampled_kernel_is_the_defined_kernel(dim, L, xi):
    # The FFT sampler draws from the circulant matrix whose eigenvalues are max(Re FFT(row), 0). That matrix must be
    # the defined wrapped kernel (and its twin) itself, not a clipped or jittered stand-in.
    for g in (None, 3.0):
        c, k = direct_twin_cov(dim, L, xi, 3.0)
        target = (c if g is None else k)[0].reshape((L,) if dim == 1 else (L, L))
        row = nlgp.kernel_row(dim, L, xi, g)
        lam = np.fft.fftn(row).real
        assert lam.min() >= -1e-12 * lam.max()
        sampled = np.fft.ifftn(np.clip(lam, 0, None)).real
        np.testing.assert_allclose(sampled, target, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dim,L,xis", [(1, 12, (6.0, 3.0)), (2, 6, (3.0, 1.5))])
@pytest.mark.parametrize("gaussian", [False, True])
def test_empirical_covariance_matches_kernel_at_large_xi(dim, L, xis, gaussian):
    # xi/L = 0.5 (class 0) and 0.25 (class 1): the samples' covariance is the wrapped kernel's twin (sampling error)
    g = 3.0
    ds = data.load("nlgp", dim=dim, L=L, xi0=xis[0], xi1=xis[1], g=g, n_train=8000, gaussian=gaussian,
                   device="cpu", seed=2)
    x, y = ds.x.double().numpy(), ds.y.numpy()
    for k, xi in enumerate(xis):
        target = direct_twin_cov(dim, L, xi, g)[1]
        z, _, _ = cov_z(x[y == k], target)
        assert np.abs(z).max() < bonferroni(z.size), (k, np.abs(z).max())


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
    """E[x^4] for x = erf(g z / sqrt2) / sqrt(gamma(g)), z ~ N(0,1), by scipy's adaptive quadrature with tight
    tolerances, told where erf rises (|z| ~ 1/g) -- independent of the package's fixed rule."""
    from scipy import integrate

    f = lambda z: math.exp(-z * z / 2) * erf(g * z / math.sqrt(2)) ** 4  # noqa: E731
    marks = [c / g for c in (0.5, 1.0, 2.0, 4.0) if c / g < 14]
    val = integrate.quad(f, 0, 14, points=marks or None, epsabs=1e-14, epsrel=1e-13, limit=500)[0]
    return 2 * val / math.sqrt(2 * math.pi) / nlgp.gamma(g) ** 2


def used_gains_and_powers():
    """Every erf gain and power the presets, the scale ladder and dose points, the appendix screen and the example
    sweep use (read from where they are defined, so that a new point is covered without editing this test)."""
    import re
    from pathlib import Path

    from impkit import scale
    from impkit.presets import PRESETS

    gains, powers = {nlgp.DEFAULTS["g"]}, {nlgp.DEFAULTS["p"]}
    for spec in PRESETS.values():
        for name, opts in spec.get("data_options", {}).items():
            if name.startswith("nlgp"):
                gains.add(float(opts.get("g", nlgp.DEFAULTS["g"])))
                powers.add(float(opts.get("p", nlgp.DEFAULTS["p"])))
    for r in scale.LADDER + scale.DOSE:
        ov = r.all_overrides
        gains.add(float(ov.get("data.options.g", 10.0)))  # 10: the default preset's g
        powers.add(float(ov.get("data.options.p", 2.0)))
    root = Path(__file__).resolve().parents[2]
    text = "".join((root / f).read_text() for f in ("notebooks/90_choosing_the_default.py",
                                                    "examples/sweep_gain.toml"))
    gains |= {float(v) for v in re.findall(r'"data\.options\.g"\s*[:=]\s*([0-9.]+)', text)}
    for lst in re.findall(r'"data\.options\.g"\s*=\s*\[([^\]]*)\]', text):
        gains |= {float(v) for v in lst.split(",")}
    return sorted(gains), sorted(powers)


def test_used_gains_are_collected():
    gains, powers = used_gains_and_powers()
    assert {1.0, 3.0, 10.0, 30.0} <= set(gains) and {1.0, 1.5, 2.0, 3.0} <= set(powers)


@pytest.mark.parametrize("g", sorted({0.01, 0.3, 100.0, *used_gains_and_powers()[0]}))
def test_erf_pixel_kurtosis_against_adaptive_quadrature(g):
    # the fixed 200-node Gauss-Hermite rule used before gave 1.0549 at g = 10 (adaptive: 1.0664)
    assert nlgp.pixel_kurtosis("erf", g=g) == pytest.approx(theory_fourth_moment(g), rel=1e-10, abs=0)


def test_erf_pixel_kurtosis_against_sampling():
    # an independent check of the g = 10 value (the dose-response page's point): 4 million draws of erf(g z/sqrt2)
    z = np.random.default_rng(0).standard_normal(4_000_000)
    x4 = (erf(10.0 * z / math.sqrt(2)) ** 4) / nlgp.gamma(10.0) ** 2
    se = x4.std(ddof=1) / math.sqrt(len(x4))
    assert abs(x4.mean() - nlgp.pixel_kurtosis("erf", g=10.0)) < 5 * se
    assert abs(x4.mean() - 1.0549) > 20 * se  # the old rule's value is far outside the sampling error


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


# ------------------------------------------------------------------------------------------------
# the expanding non-linearity: x = sign(z)|z|^p / sqrt(E|z|^2p), heavy-tailed for p > 1
# ------------------------------------------------------------------------------------------------
def direct_power_cov(rho, p):
    """E[s_p(u) s_p(v)] / E|u|^2p by scipy's adaptive 2-D quadrature in the whitened variables (no polar trick)."""
    from scipy import integrate

    s = math.sqrt(1 - rho * rho)
    sp = lambda a: math.copysign(abs(a) ** p, a)  # noqa: E731
    f = lambda v, u: sp(u) * sp(rho * u + s * v) * math.exp(-(u * u + v * v) / 2) / (2 * math.pi)  # noqa: E731
    val = sum(integrate.dblquad(f, a, b, -12, 12, epsabs=1e-11)[0] for a, b in ((-12, 0), (0, 12)))
    return val / nlgp.power_moment(p)


def test_power_covariance_closed_forms():
    rho = np.linspace(-1, 1, 21)
    np.testing.assert_allclose(nlgp.power_covariance(rho, 1.0), rho, rtol=0, atol=1e-13)  # p = 1: Gaussian
    # p = 3: E[u^3 v^3] = 9 rho + 6 rho^3 (Wick), E[u^6] = 15
    np.testing.assert_allclose(nlgp.power_covariance(rho, 3.0), (9 * rho + 6 * rho**3) / 15, rtol=0, atol=1e-12)
    for p in (0.5, 1.5, 2.0, 3.0):
        assert nlgp.power_covariance(np.array(1.0), p) == pytest.approx(1.0, abs=1e-9)
        assert nlgp.power_covariance(np.array(0.0), p) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("p,rho", [(1.5, 0.3), (2.0, 0.8), (2.0, -0.45), (2.5, 0.95), (1.5, 0.895), (3.0, 0.6),
                                   (2.0, 0.99), (1.5, -0.99)])
def test_power_covariance_against_direct_quadrature(p, rho):
    # 0.895: the largest off-diagonal latent correlation of the used fields (xi = 3, one pixel apart)
    assert nlgp.power_covariance(np.array(rho), p) == pytest.approx(direct_power_cov(rho, p), abs=1e-7)


def test_power_pixel_kurtosis_closed_form():
    from scipy import integrate

    for p in (1.0, 1.5, 2.0, 3.0):
        m4 = 2 * integrate.quad(lambda z: z ** (4 * p) * math.exp(-z * z / 2), 0, 40)[0] / math.sqrt(2 * math.pi)
        assert nlgp.pixel_kurtosis("power", p=p) == pytest.approx(m4 / nlgp.power_moment(p) ** 2, rel=1e-9)
    assert nlgp.pixel_kurtosis("power", p=1.0) == pytest.approx(3.0)
    assert nlgp.pixel_kurtosis("power", p=2.0) == pytest.approx(35 / 3)  # 105 / 9
    assert nlgp.pixel_kurtosis("erf", g=10.0) == pytest.approx(theory_fourth_moment(10.0), rel=1e-9)


@pytest.mark.parametrize("dim,L", [(1, 12), (2, 8)])
def test_power_twin_kernel_is_psd(dim, L):
    for p in (1.5, 2.0, 3.0):
        ev = np.linalg.eigvalsh(nlgp.analytic_covariance(dim, L, L / 2, g=1.0, nonlinearity="power", p=p))
        assert ev.min() >= -1e-10 * ev.max(), (p, ev.min())


@pytest.mark.parametrize("gaussian", [False, True])
def test_power_samples_match_theory(gaussian):
    # heavy tails need many samples for the fourth-moment SE; 2-D L=6 keeps it cheap
    p, xis = 2.0, (1.0, 2.0)
    ds = data.load("nlgp", dim=2, L=6, xi0=xis[0], xi1=xis[1], nonlinearity="power", p=p, n_train=40000,
                   gaussian=gaussian, device="cpu", seed=7)
    x, y = ds.x.double().numpy(), ds.y.numpy()
    assert abs((y == 0).sum() - (y == 1).sum()) <= 1  # classes balanced
    for k, xi in enumerate(xis):
        target = nlgp.analytic_covariance(2, 6, xi, g=1.0, nonlinearity="power", p=p)
        z, _, _ = cov_z(x[y == k], target)
        assert np.abs(z).max() < bonferroni(z.size), (k, np.abs(z).max())
    m4 = (x**4).mean(0)
    se = ((x**4).std(0, ddof=1) / math.sqrt(len(x))).max()
    theory = 3.0 if gaussian else nlgp.pixel_kurtosis("power", p=p)
    assert abs(m4.mean() - theory) < 5 * se, (m4.mean(), theory, se)
    if not gaussian:
        assert m4.mean() > 3 + 5 * se  # clearly heavy-tailed (se: the largest per-pixel SE, conservative)


def test_power_options_are_checked():
    with pytest.raises(ValueError, match="nonlinearity must be one of erf, power"):
        data.load("nlgp", nonlinearity="tanh", device="cpu")
    with pytest.raises(ValueError, match="p > 0"):
        data.load("nlgp", nonlinearity="power", p=0.0, device="cpu")
