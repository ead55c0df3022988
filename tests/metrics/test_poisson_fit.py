"""The batched Poisson fit (impkit.metrics.poisson_fit) reaches the likelihood's optimum."""
import numpy as np
from scipy.optimize import minimize

from impkit.metrics import gaussian_fit_profiles, mask_correlation, partner_counts
from impkit.metrics.half_plane import HalfPlane


def test_fit_is_poisson_maximum_likelihood():
    """The batched Fisher-scoring fit reaches the optimum of the Poisson likelihood found by scipy."""
    rng = np.random.default_rng(5)
    h, w = 16, 18
    shape = (2, h, w)
    yy, xx = np.mgrid[:h, :w]
    masks = []
    for sb, q, bg in [(1.5, 0.9, 0.05), (2.5, 0.6, 0.1), (1.0, 1.0, 0.0), (3.0, 0.5, 0.2)]:
        p = q * np.exp(-((yy - 7.3) ** 2 / (2 * sb ** 2) + (xx - 8.1) ** 2 / (2 * (1.4 * sb) ** 2))) + bg
        masks.append(rng.random((2, h, w)) < np.minimum(p, 1))
    masks = np.array(masks).reshape(4, -1)
    s, x = mask_correlation(masks, shape), partner_counts(masks, shape)
    res = gaussian_fit_profiles(s, shape, x=x)
    assert res["converged"].all()
    geo = HalfPlane(shape, "same")
    sh, xh = geo.half_profiles(s), geo.half_profiles(x)
    half = geo.half > 0
    dy, dx = np.meshgrid(geo.dy, geo.dx, indexing="ij")
    for i in range(4):
        si, xi, n = sh[i][half], xh[i][half], geo.n_pairs[half]

        def nll(t):
            a, rho, lx, ly = t
            mu = a * np.exp(-dx[half] ** 2 / (2 * np.exp(2 * lx)) - dy[half] ** 2 / (2 * np.exp(2 * ly)))
            mu = np.maximum(mu + rho * (2 * xi - rho * n), 1e-12)
            return -(si * np.log(mu) - mu).sum()

        got = [res["amplitude"][i], res["background"][i], np.log(res["sigma_x"][i]), np.log(res["sigma_y"][i])]
        start = [got[0] * 1.3 + 1, got[1] * 0.7 + 0.01, got[2] + 0.2, got[3] - 0.2]
        ref = minimize(nll, start, method="L-BFGS-B", bounds=[(0, None), (0, 1)] + [(np.log(0.5), np.log(18))] * 2,
                       options=dict(ftol=1e-15, gtol=1e-12, maxiter=10000))
        assert nll(got) <= ref.fun + 1e-6
        np.testing.assert_allclose(np.r_[got[:2], np.exp(got[2:])], np.r_[ref.x[:2], np.exp(ref.x[2:])],
                                   rtol=2e-3, atol=1e-6)
