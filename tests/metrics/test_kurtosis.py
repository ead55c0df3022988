"""Kurtosis and the first-layer preactivation kurtosis, over all inputs and per class (impkit.metrics.kurtosis)."""
import numpy as np
import pytest
import torch

from impkit.metrics import kurtosis, preactivation_kurtosis


def test_kurtosis_gaussian_within_sampling_error():
    n = 200_000
    x = np.random.default_rng(0).standard_normal((n, 4))
    k = kurtosis(x, dim=0)
    # sd of the sample kurtosis of a Gaussian is sqrt(24/n); allow 4 sd
    assert np.all(np.abs(k - 3) < 4 * np.sqrt(24 / n))
    kt = kurtosis(torch.tensor(x), dim=0)
    np.testing.assert_allclose(kt.numpy(), k, rtol=1e-12)


@pytest.mark.parametrize("dist,theory,tol", [("uniform", 1.8, 0.02), ("laplace", 6.0, 0.3)])
def test_kurtosis_known_distributions(dist, theory, tol):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 200_000) if dist == "uniform" else rng.laplace(size=200_000)
    assert abs(kurtosis(x) - theory) < tol
    assert abs(kurtosis(x[None, :], dim=1)[0] - theory) < tol


def test_preactivation_kurtosis_batched_and_per_class():
    g = torch.Generator().manual_seed(0)
    p, d, h, k = 3000, 20, 5, 3
    x = torch.distributions.Laplace(0.0, 1.0).sample((p, d)) + 3.0  # large mean: tests the shifted moments
    y = torch.randint(0, k, (p,), generator=g)
    w = torch.randn(h, d, generator=g)
    w[:, 5:] = 0.0  # a few weights only: non-Gaussian preactivations
    b = torch.randn(h, generator=g)
    lam = (x.double() @ w.double().T + b.double()).numpy()
    res = preactivation_kurtosis(w, b, x, labels=y, batch_size=257)
    np.testing.assert_allclose(res.all, kurtosis(lam), rtol=1e-9)
    by = np.stack([kurtosis(lam[(y == c).numpy()]) for c in range(k)])
    np.testing.assert_allclose(res.by_class, by, rtol=1e-9)
    np.testing.assert_allclose(res.per_class, by.mean(0), rtol=1e-9)
    assert res.mean_per_class == pytest.approx(by.mean())
    # iterable of (x, y) batches and an input transform
    it = [(x[i:i + 500], y[i:i + 500]) for i in range(0, p, 500)]
    res2 = preactivation_kurtosis(w, None, it, input_transform=lambda t: 2 * t)
    np.testing.assert_allclose(res2.per_class, by.mean(0), rtol=1e-9)  # scale-invariant
    assert preactivation_kurtosis(w, b, x).per_class is None


@pytest.mark.parametrize("n", [300, 1281])
def test_per_class_kurtosis_of_gaussian_preactivations_at_1000_classes(n):
    # The size of ImageNet32 (1000 classes; 300 per class, or all 1,281): exactly Gaussian preactivations. The
    # plain kurtosis of n Gaussian samples has mean 3 (n-1)/(n+1) (bias -6/(n+1): -0.020 at n = 300, -0.005 at
    # n = 1281) and standard deviation ~ sqrt(24/n); the class average over 1000 independent classes has a standard
    # error ~ sqrt(24/n)/sqrt(1000) (0.009 at n = 300, 0.004 at n = 1281), estimated here from the classes.
    k, d, h = 1000, 8, 4
    g = torch.Generator().manual_seed(n)
    x = torch.randn(k * n, d, generator=g)
    y = torch.arange(k * n) % k
    w = torch.randn(h, d, generator=g)
    res = preactivation_kurtosis(w, None, x, labels=y, batch_size=50_000)
    assert (res.class_counts == n).all()
    per_class = res.by_class.mean(1)  # (K,) unit-averaged per-class kurtosis
    se = per_class.std(ddof=1) / np.sqrt(k)
    assert se < 1.2 * np.sqrt(24 / n) / np.sqrt(k)
    assert abs(res.mean_per_class - 3 * (n - 1) / (n + 1)) < 4 * se
    assert abs(res.mean_per_class - 3) < 6 / (n + 1) + 4 * se
    # the same estimator from 10 inputs per class is far off (mean 3*9/11 = 2.45): why the count per class matters
    few = preactivation_kurtosis(w, None, x[: 10 * k], labels=y[: 10 * k])
    assert abs(few.mean_per_class - 3 * 9 / 11) < 0.05 and few.mean_per_class < 2.6


def test_constant_preactivation_has_no_kurtosis_not_inf():
    # a unit whose preactivation is constant within a class (up to rounding) has undefined kurtosis there: NaN
    import torch

    from impkit.metrics import KurtosisAccumulator

    g = torch.Generator().manual_seed(0)
    lam = torch.randn(400, 3, generator=g, dtype=torch.float64)
    lam[:200, 1] = 0.1 + 1e-17 * torch.randn(200, generator=g, dtype=torch.float64)  # class 0: constant unit 1
    lam[:, 2] = 7.3  # constant everywhere
    y = torch.cat([torch.zeros(200), torch.ones(200)]).long()
    acc = KurtosisAccumulator(n_groups=2)
    acc.update(lam, y)
    k = acc.group_kurtosis()
    assert torch.isnan(k[0, 1]) and torch.isfinite(k[1, 1]) and torch.isnan(k[:, 2]).all()
    assert torch.isfinite(k[:, 0]).all() and abs(float(k[:, 0].mean()) - 3) < 0.6
    assert torch.isnan(acc.kurtosis()[2]) and not torch.isinf(acc.kurtosis()).any()
