import numpy as np

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
