import numpy as np
import pytest
import torch

from scipy.signal import correlate

from impkit.metrics import mask_correlation, pair_counts, rf_width, rf_width_fit, gaussian_fit_profiles
from impkit.metrics import summarize_over_seeds, summarize_over_units


def direct_S(m, shape, channels="same"):
    c, h, w = shape
    x = m.reshape(c, h, w).astype(float)
    out = np.zeros((2 * h - 1, 2 * w - 1))
    for a in range(c):
        for b in range(c):
            if channels == "same" and a != b:
                continue
            if channels == "cross" and a == b:
                continue
            for y1 in range(h):
                for x1 in range(w):
                    for y2 in range(h):
                        for x2 in range(w):
                            out[y1 - y2 + h - 1, x1 - x2 + w - 1] += x[a, y1, x1] * x[b, y2, x2]
    return out


# (one channel has no cross-channel pairs, so "cross" is tested on RGB shapes only)
@pytest.mark.parametrize("shape,channels", [((1, 4, 5), "same"), ((1, 4, 5), "all"), ((3, 3, 4), "same"),
                                            ((3, 3, 4), "cross"), ((3, 3, 4), "all")])
def test_correlation_equals_double_sum(shape, channels):
    rng = np.random.default_rng(1)
    d = int(np.prod(shape))
    masks = rng.random((3, d)) < 0.5
    s = mask_correlation(masks, shape, channels=channels)
    assert s.shape == (3, 2 * shape[1] - 1, 2 * shape[2] - 1)
    for i in range(3):
        np.testing.assert_array_equal(s[i], direct_S(masks[i], shape, channels))
    # float (non-binary) masks: exact up to fp; torch input accepted
    wts = rng.normal(size=(2, d))
    s2 = mask_correlation(torch.tensor(wts), shape, channels=channels)
    np.testing.assert_allclose(s2[0], direct_S(wts[0], shape, channels), atol=1e-9)


def test_pair_counts_and_normalisation():
    shape = (2, 5, 6)
    full = np.ones((1, 60), bool)
    np.testing.assert_array_equal(mask_correlation(full, shape)[0], pair_counts(shape))
    np.testing.assert_allclose(mask_correlation(full, shape, normalize=True)[0], 1.0)
    s = mask_correlation(full, shape, channels="any")[0]
    assert s[4, 5] == 30


def test_partner_counts():
    """X(d) = pairs at displacement d with one end on a surviving weight (averaged over the two ends)."""
    from impkit.metrics.locality import partner_counts

    rng = np.random.default_rng(1)
    for shape, channels in [((1, 5, 6), "same"), ((3, 4, 5), "same"), ((3, 4, 5), "cross"), ((3, 4, 5), "all"),
                            ((3, 4, 5), "any")]:
        c, h, w = shape
        d = c * h * w
        np.testing.assert_allclose(partner_counts(np.ones(d), shape, channels),
                                   mask_correlation(np.ones(d), shape, channels=channels))
        m = rng.random((2, d)) < 0.4
        x = m.reshape(2, c, h, w).astype(float)
        if channels == "any":
            x, c = x.max(axis=1, keepdims=True), 1
        ref = np.zeros((2, 2 * h - 1, 2 * w - 1))
        for a in range(c):
            for b in range(c):
                if (channels == "same" and a != b) or (channels == "cross" and a == b):
                    continue
                for y1, x1, y2, x2 in np.ndindex(h, w, h, w):
                    ref[:, y2 - y1 + h - 1, x2 - x1 + w - 1] += 0.5 * (x[:, a, y1, x1] + x[:, b, y2, x2])
        np.testing.assert_allclose(partner_counts(m, shape, channels), ref)


# ---- planted Gaussian masks: keep pixel z with probability p(z) = p0 exp(-|z - z0|^2 / 2 sigma_b^2) -----------


def gauss_p(side, sigma_y, sigma_x, centre, p0=1.0, background=0.0):
    yy, xx = np.mgrid[:side, :side]
    cy, cx = centre
    return p0 * np.exp(-(yy - cy) ** 2 / (2 * sigma_y ** 2) - (xx - cx) ** 2 / (2 * sigma_x ** 2)) + background


def expected_S(p):
    """Exact E S(d) (d != 0) of a mask keeping pixel z independently with probability p(z): sum_z p(z) p(z + d)."""
    return correlate(p, p, mode="full", method="direct")


# S-widths sqrt(2) sigma_b from 1.4 to 5.9 px on 32 x 32 and 24 x 24 images, blobs >= 3.5 sigma_b from the edges
PLANTED = [(32, 1.0, (15.5, 16.2)), (32, 2.0, (16.3, 15.4)), (32, 3.0, (15.2, 16.7)), (32, 4.2, (16.0, 15.5)),
           (24, 1.0, (11.3, 12.4)), (24, 2.0, (12.2, 11.6)), (24, 3.0, (11.7, 12.0))]


@pytest.mark.parametrize("side,sigma_b,centre", PLANTED)
def test_planted_width_exact_expected_S(side, sigma_b, centre):
    """The fit returns sqrt(2) sigma_b within 5 % from the exact expected S (the S/N fit was +2.5 ... +14.5 %)."""
    p = gauss_p(side, sigma_b, sigma_b, centre)
    r = gaussian_fit_profiles(expected_S(p)[None], (1, side, side))
    truth = np.sqrt(2) * sigma_b
    assert r["sigma_x"][0] == pytest.approx(truth, rel=0.05)
    assert r["sigma_y"][0] == pytest.approx(truth, rel=0.05)


@pytest.mark.parametrize("side,sigma_b,centre", [PLANTED[1], PLANTED[3], PLANTED[6]])
def test_planted_width_mean_of_sampled_masks(side, sigma_b, centre):
    """Same on the mean S of 400 sampled masks, and on the median of per-unit fits (looser: small-sample noise)."""
    rng = np.random.default_rng(int(10 * sigma_b) + side)
    p = gauss_p(side, sigma_b, sigma_b, centre, p0=0.9)
    m = rng.random((400, side * side)) < p.ravel()
    truth = np.sqrt(2) * sigma_b
    r = gaussian_fit_profiles(mask_correlation(m, (1, side, side)).mean(0)[None], (1, side, side))
    assert r["sigma_x"][0] == pytest.approx(truth, rel=0.05)
    assert r["sigma_y"][0] == pytest.approx(truth, rel=0.05)
    res = rf_width_fit(m[:150], (1, side, side))
    assert res.detected[~res.excluded].mean() > 0.95
    assert np.median(res.sigma_x[res.detected]) == pytest.approx(truth, rel=0.1)


@pytest.mark.parametrize("side,sigma_b,background", [(32, 2.0, 0.02), (32, 3.0, 0.05), (24, 2.0, 0.1),
                                                     (32, 1.5, 0.3)])
def test_planted_width_with_scattered_background(side, sigma_b, background):
    """Blob plus weights scattered at random: the background term 2 rho X - rho^2 N keeps the width (a floor
    c N alone widened these by 1.2x to 6x) and rho comes back as the background density."""
    from impkit.metrics.locality import partner_counts

    p = gauss_p(side, sigma_b, sigma_b, (side / 2 - 0.7, side / 2 + 0.6), p0=0.6, background=background)
    r = gaussian_fit_profiles(expected_S(p)[None], (1, side, side), x=partner_counts(p.ravel(), (1, side, side)))
    assert r["sigma_x"][0] == pytest.approx(np.sqrt(2) * sigma_b, rel=0.05)
    assert r["background"][0] == pytest.approx(background, rel=0.05)


def test_planted_width_with_background_per_unit():
    rng = np.random.default_rng(11)
    side, sigma_b = 32, 2.0
    ps = [gauss_p(side, sigma_b, sigma_b, rng.uniform(13, 19, 2), p0=0.8, background=0.02) for _ in range(150)]
    m = np.array([rng.random(p.shape) < p for p in ps]).reshape(150, -1)
    r = rf_width_fit(m, (1, side, side))
    assert r.detected[~r.excluded].mean() > 0.95
    assert np.median(r.sigma_x[r.detected]) == pytest.approx(np.sqrt(2) * sigma_b, rel=0.15)


def test_anisotropic_blobs():
    side = 32
    p = gauss_p(side, 1.2, 2.8, (15.6, 16.3))
    r = gaussian_fit_profiles(expected_S(p)[None], (1, side, side))
    assert r["sigma_x"][0] == pytest.approx(np.sqrt(2) * 2.8, rel=0.05)
    assert r["sigma_y"][0] == pytest.approx(np.sqrt(2) * 1.2, rel=0.05)
    rng = np.random.default_rng(5)
    m = np.array([rng.random((side, side)) < gauss_p(side, 1.2, 2.8, rng.uniform(12, 20, 2), p0=0.9)
                  for _ in range(100)]).reshape(100, -1)
    res = rf_width_fit(m, (1, side, side))
    assert res.detected[~res.excluded].mean() > 0.95
    sx, sy = res.sigma_x[res.detected], res.sigma_y[res.detected]
    assert np.median(sx) > 1.8 * np.median(sy)
    assert np.median(sx) == pytest.approx(np.sqrt(2) * 2.8, rel=0.15)
    assert np.median(sy) == pytest.approx(np.sqrt(2) * 1.2, rel=0.15)


def test_rgb_same_channels():
    """C = 3, channels="same": the same-channel pairs of the three channels add up; widths as for one channel."""
    side, sigma_b = 24, 2.0
    shape = (3, side, side)
    p = gauss_p(side, sigma_b, sigma_b, (11.6, 12.3), p0=0.8)
    s = 3 * expected_S(p)
    r = gaussian_fit_profiles(s[None], shape)
    assert r["sigma_x"][0] == pytest.approx(np.sqrt(2) * sigma_b, rel=0.05)
    rng = np.random.default_rng(6)
    m = np.array([rng.random(shape) < gauss_p(side, sigma_b, sigma_b, rng.uniform(9, 15, 2), p0=0.8, background=0.03)
                  for _ in range(100)]).reshape(100, -1)
    m[0] = False
    m[0, :5] = True  # 5 weights < min_weights: excluded, NaN, not counted
    res = rf_width_fit(m, shape, channels="same")
    assert res.n_excluded == 1 and res.excluded[0] and np.isnan(res.sigma_x[0])
    assert res.frac_detected > 0.95 and res.summary()["n_counted"] == 99
    assert np.median(res.sigma_x[res.detected]) == pytest.approx(np.sqrt(2) * sigma_b, rel=0.15)
    sx, sy = rf_width(m, shape)
    np.testing.assert_array_equal(np.isnan(sx), ~res.detected)


def test_undetected_units_have_no_width():
    """Units without a significant peak are NaN (never the image size); the summary averages detected units only
    and reports the detection rate over counted units separately."""
    rng = np.random.default_rng(8)
    side = 24
    shape = (1, side, side)
    rand = rng.random((60, side * side)) < 0.1
    blobs = np.array([rng.random((side, side)) < gauss_p(side, 1.5, 1.5, rng.uniform(8, 16, 2), p0=0.9)
                      for _ in range(40)]).reshape(40, -1)
    tiny = np.zeros((3, side * side), bool)
    tiny[:, :4] = True
    m = np.concatenate([rand, blobs, tiny])
    r = rf_width_fit(m, shape)
    assert r.detected[60:100].all() and r.detected[:60].mean() < 0.15
    np.testing.assert_array_equal(np.isfinite(r.sigma_x), r.detected)
    np.testing.assert_array_equal(np.isfinite(r.sigma_y), r.detected)
    assert r.n_excluded == 3 and r.n_counted == 100
    assert (r.sigma_x[60:100] < 6).all()  # the blobs' widths; undetected units add nothing, not the image size
    summ = r.summary()
    assert summ["mean"] == pytest.approx(np.mean(r.sigma_x[r.detected]))
    assert summ["median"] == pytest.approx(np.median(r.sigma_x[r.detected]))
    assert summ["frac_detected"] == pytest.approx(r.detected.sum() / 100) == r.frac_detected
    assert summ["n_detected"] == r.detected.sum()
    sx, sy = rf_width(m, shape)
    np.testing.assert_array_equal(sx, r.sigma_x)
    # a population of random masks: no width at all, not the image size
    none = rf_width_fit(rng.random((30, side * side)) < 0.3, shape, alpha=1e-9)
    assert not none.detected.any() and np.isnan(none.summary()["mean"]) and none.summary()["frac_detected"] == 0


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
    from impkit.metrics.locality import _Geometry, _Scan, _sigma_grid

    rng = np.random.default_rng(3)
    shape, k, n = (3, 8, 9), 40, 6000
    d = int(np.prod(shape))
    for channels in ("same", "all"):
        geo = _Geometry(shape, channels)
        scan = _Scan(geo, _sigma_grid(0.6, 6.0, 3))
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
    from impkit.metrics.locality import detection_threshold

    shape = (1, 16, 16)
    t = detection_threshold([40, 40, 37, 1, 256], shape)
    assert t[0] == t[1] and np.isfinite(t[:3]).all() and np.isinf(t[3]) and np.isinf(t[4])
    np.testing.assert_array_equal(detection_threshold([40, 37], shape), t[:3][[0, 2]])


def test_fit_is_poisson_maximum_likelihood():
    """The batched Fisher-scoring fit reaches the optimum of the Poisson likelihood found by scipy."""
    from scipy.optimize import minimize

    from impkit.metrics.locality import _Geometry, partner_counts

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
    geo = _Geometry(shape, "same")
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


def test_summaries():
    s = summarize_over_units([1.0, np.nan, 3.0])
    assert s["mean"] == 2.0 and s["median"] == 2.0 and s["n"] == 2 and s["n_nan"] == 1
    v = np.array([[1.0, 2.0], [3.0, np.nan]])
    out = summarize_over_seeds(v)
    np.testing.assert_allclose(out["mean"], [2.0, 2.0])
    np.testing.assert_allclose(out["min"], [1.0, 2.0])
    np.testing.assert_allclose(out["max"], [3.0, 2.0])


def _blob_masks(rng, n_units, side, sigma, k):
    """Masks of ``k`` weights drawn without replacement with probability ~ a Gaussian blob at a random centre."""
    yy, xx = np.mgrid[0:side, 0:side]
    out = np.zeros((n_units, side * side), dtype=bool)
    for i in range(n_units):
        cy, cx = rng.uniform(4, side - 4, size=2)
        p = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)).ravel()
        out[i, rng.choice(side * side, size=k, replace=False, p=p / p.sum())] = True
    return out


def test_locality_index_random_masks_are_one():
    from impkit.metrics import locality_index

    rng = np.random.default_rng(3)
    side, units = 24, 400
    for k in (20, 60, 200):  # sparse to dense: LI = 1 in expectation at any density
        masks = np.zeros((units, side * side), dtype=bool)
        for i in range(units):
            masks[i, rng.choice(side * side, size=k, replace=False)] = True
        li = locality_index(masks, (1, side, side))
        se = li.std(ddof=1) / np.sqrt(units)
        assert abs(li.mean() - 1) < 4 * se + 0.01, (k, li.mean(), se)


def test_locality_index_orders_planted_blobs_and_excludes_small_units():
    from impkit.metrics import locality_index

    rng = np.random.default_rng(4)
    side = 24
    means = [np.nanmean(locality_index(_blob_masks(rng, 60, side, s, 20), (1, side, side))) for s in (1.5, 3, 5)]
    assert means[0] > means[1] > means[2] > 1.5, means
    tiny = np.zeros((1, side * side), dtype=bool)
    tiny[0, :5] = True
    assert np.isnan(locality_index(tiny, (1, side, side), min_weights=8)[0])


class _FakeRun:
    """The parts of impkit.runs.Run that analysis.rf_width_rows reads."""

    def __init__(self, masks):
        self.masks, self.dataset, self.method, self.seed = masks, "toy", "imp", 0
        self.rounds_done = list(range(len(masks)))

    def mask(self, n):
        return [self.masks[n]]

    def sparsity(self, n):
        return {"layers": [{"sparsity": 1.0 - float(self.masks[n].mean())}]}


def test_rf_width_rows_average_detected_units_only(monkeypatch):
    from impkit import analysis

    rng = np.random.default_rng(12)
    side = 24
    shape = (1, side, side)
    monkeypatch.setattr(analysis, "image_shape", lambda run: shape)
    rand = rng.random((40, side * side)) < 0.2
    blobs = np.array([rng.random((side, side)) < gauss_p(side, 1.5, 1.5, rng.uniform(8, 16, 2), p0=0.9)
                      for _ in range(40)]).reshape(40, -1)
    r0, r1 = analysis.rf_width_rows([_FakeRun([rand, np.concatenate([rand[:20], blobs[:20]])])])
    # round 0, all random: the detection rate is the false-positive rate; no unit is given the image size
    assert r0["frac_detected"] <= 0.15 and r0["n_counted"] == 40
    if r0["n_detected"] == 0:
        assert np.isnan(r0["sigma_x_mean"])
    res = rf_width_fit(np.concatenate([rand[:20], blobs[:20]]), shape)
    det = res.detected
    assert det[20:].all()
    assert r1["sigma_x_mean"] == pytest.approx(res.sigma_x[det].mean())
    assert r1["sigma_x_median"] == pytest.approx(np.median(res.sigma_x[det]))
    assert r1["sigma_y_mean"] == pytest.approx(res.sigma_y[det].mean())
    assert r1["n_detected"] == det.sum() and r1["frac_detected"] == pytest.approx(det.sum() / 40)
    assert r1["sigma_x_mean"] < 4  # the blobs' width (about 2.1 px), not pulled towards the image side (24)
    assert {"li_mean", "li_median", "n_units", "n_excluded"} <= set(r1)
