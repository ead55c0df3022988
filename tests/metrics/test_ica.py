import numpy as np
import pytest

from impkit.metrics import best_window_energy, ica_pca, inverse_participation_ratio


def test_window_energy_and_ipr():
    f = np.zeros((2, 64))
    f[0, 9] = 1.0  # a single pixel
    f[1] = 1.0  # flat
    w = best_window_energy(f, (8, 8), k=2)
    np.testing.assert_allclose(w, [1.0, 4 / 64])
    np.testing.assert_allclose(inverse_participation_ratio(f, (8, 8)), [1.0, 1 / 64])


def test_ica_more_local_than_pca_on_sparse_local_sources():
    rng = np.random.default_rng(0)
    h, n = 6, 2000
    yy, xx = np.mgrid[:h, :h]
    a = np.array([np.exp(-((yy - k // h) ** 2 + (xx - k % h) ** 2) / (2 * 0.7 ** 2)).ravel() for k in range(h * h)])
    s = rng.laplace(size=(n, h * h)) ** 3  # sparse, heavy-tailed sources
    x = s @ a + 0.01 * rng.standard_normal((n, h * h))
    r = ica_pca(x, n_components=12, seed=0, remove_dc=False, k=2)
    assert r.ica_filters.shape == (12, 36) and r.pca_filters.shape == (12, 36)
    summ = r.summary()
    assert summ["ica_window_median"] > summ["pca_window_median"] + 0.2
    assert summ["ica_ipr_median"] > 2 * summ["pca_ipr_median"]
    assert np.median(best_window_energy(r.ica_basis, (h, h), 2)) > summ["pca_window_median"] + 0.2
    assert summ["ica_kurtosis_median"] > summ["pca_kurtosis_median"]


def test_gaussian_null_has_the_covariance_and_gaussian_kurtosis():
    from impkit.metrics import gaussian_null, kurtosis

    rng = np.random.default_rng(1)
    # heavy-tailed, correlated, with a singular direction (rows sum to a constant after the mean is removed)
    x = rng.laplace(size=(40000, 6)) ** 3 @ rng.normal(size=(6, 6)) + 2.0
    x = x - x.mean(1, keepdims=True) + 5.0
    g = gaussian_null(x, seed=0)
    assert g.shape == x.shape and g.dtype == np.float32
    cx, cg = np.cov(x, rowvar=False), np.cov(g.astype(np.float64), rowvar=False)
    assert np.abs(cg - cx).max() < 0.05 * np.abs(cx).max()
    np.testing.assert_allclose(g.mean(0), x.mean(0), atol=0.05 * np.sqrt(np.diag(cx)).max())
    # the data are far from Gaussian, every projection of the null is Gaussian (kurtosis 3)
    w = rng.normal(size=(6, 5))
    assert np.all(np.abs(np.asarray(kurtosis(x @ w, dim=0)) - 3) > 1.0)
    np.testing.assert_allclose(np.asarray(kurtosis(g.astype(np.float64) @ w, dim=0)), 3.0, atol=0.15)
    # seeded: the same seed the same rows, another seed others; n rows on request
    np.testing.assert_array_equal(gaussian_null(x, seed=0), g)
    assert not np.allclose(gaussian_null(x, seed=1), g)
    assert gaussian_null(x, seed=0, n=10).shape == (10, 6)


def test_window_ratio_is_the_ratio_of_medians():
    from impkit.metrics import window_ratio

    assert window_ratio([0.5, 0.6, 0.9], [0.1, 0.2, 0.3]) == pytest.approx(3.0)
    assert window_ratio([0.5, 0.6, 0.9, 0.1], [0.2, 0.2, 0.2, 0.2]) == pytest.approx(2.75)
