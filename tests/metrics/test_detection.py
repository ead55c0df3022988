"""Detection test of a local peak: false-positive rate, power, the exact null variance, the threshold
(impkit.metrics.detection)."""
import numpy as np

from planted_masks import gauss_p

from impkit.metrics import detection_threshold, mask_correlation, rf_width_fit
from impkit.metrics.detection import KernelScan, sigma_grid
from impkit.metrics.half_plane import HalfPlane


# the sparsities that matter: first-layer keep fractions 0.7^n after n = 1..10 IMP rounds
KEEP = [0.7 ** n for n in range(1, 11)]
FPR_SHAPES = [(1, 16, 16), (1, 24, 24), (1, 32, 32), (3, 16, 16), (3, 32, 32)]


def test_random_masks_false_positive_rate():
    """Masks without spatial structure are detected at most alpha = 5 % of the time, at every sparsity and shape.

    200 masks per (shape, keep fraction): a cell's rate may exceed 5 % by sampling noise only, so each cell is
    held to 5 % + 3 binomial standard errors (9.6 %), and the pooled rate over all 10,000 masks to 5 % + 2 standard
    errors (5.4 %). The F test used before detected up to 22 % of such masks (pooled about 8 %).
    """
    rng = np.random.default_rng(2024)
    n, alpha = 200, 0.05
    rates = {}
    for shape in FPR_SHAPES:
        d = int(np.prod(shape))
        for f in KEEP:
            r = rf_width_fit(rng.random((n, d)) < f, shape)
            inc = ~r.excluded
            rates[(shape, round(f, 3))] = (r.detected[inc].sum(), inc.sum())
    det = sum(v[0] for v in rates.values())
    tot = sum(v[1] for v in rates.values())
    worst = max(rates.items(), key=lambda kv: kv[1][0] / kv[1][1])
    assert det / tot <= alpha + 2 * np.sqrt(alpha * (1 - alpha) / tot), (det / tot, worst)
    for key, (k, m) in rates.items():
        assert k / m <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / m), (key, k / m)


def test_detection_power_on_planted_blobs():
    """Planted local blobs are detected at high rate, sparse and dense, with and without scattered background."""
    rng = np.random.default_rng(9)
    cases = [  # side, sigma_b, p0, background, channels, minimum detection rate
        (24, 1.5, 1.0, 0.0, 1, 0.99), (32, 2.5, 0.8, 0.0, 1, 0.99), (32, 2.0, 0.8, 0.02, 1, 0.99),
        (24, 2.0, 0.8, 0.1, 1, 0.9), (32, 2.0, 0.8, 0.05, 3, 0.99)]
    for side, sb, p0, bg, c, rate in cases:
        m = np.array([rng.random((c, side, side)) < gauss_p(side, sb, sb, rng.uniform(side / 2 - 3, side / 2 + 3, 2),
                                                              p0=p0, background=bg) for _ in range(100)])
        r = rf_width_fit(m.reshape(100, -1), (c, side, side))
        rate_seen = r.detected[~r.excluded].mean()
        assert rate_seen >= rate, (side, sb, bg, c, rate_seen)


def test_null_statistic_is_standardised():
    """The kernel statistic L has mean 0 and the closed-form variance over random k-weight masks."""
    rng = np.random.default_rng(3)
    shape, k, n = (3, 8, 9), 40, 6000
    d = int(np.prod(shape))
    for channels in ("same", "all"):
        geo = HalfPlane(shape, channels)
        scan = KernelScan(geo, sigma_grid(0.6, 6.0, 3))
        r = rng.random((n, d))
        m = r <= np.partition(r, k - 1, axis=1)[:, k - 1:k]
        t1, ss = scan.sums(geo.half_profiles(mask_correlation(m, shape, channels=channels)))
        num = t1 - (ss / geo.sum_n)[:, None, None] * scan.sg
        p2 = k * (k - 1) / (d * (d - 1))
        p3, p4 = p2 * (k - 2) / (d - 2), p2 * (k - 2) * (k - 3) / ((d - 2) * (d - 3))
        var = scan.q * (2 * p2 - 4 * p3 + 2 * p4) + scan.r * (4 * p3 - 4 * p4)
        z = num / np.sqrt(var)
        np.testing.assert_allclose(z.mean(0), 0, atol=4 / np.sqrt(n))
        np.testing.assert_allclose(z.var(0), 1, atol=5 * np.sqrt(2 / n))


def test_detection_threshold_is_deterministic():
    shape = (1, 16, 16)
    t = detection_threshold([40, 40, 37, 1, 256], shape)
    assert t[0] == t[1] and np.isfinite(t[:3]).all() and np.isinf(t[3]) and np.isinf(t[4])
    np.testing.assert_array_equal(detection_threshold([40, 37], shape), t[:3][[0, 2]])
