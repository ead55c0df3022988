import numpy as np
import pytest
import torch

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


H = W = 32
_yy, _xx = np.mgrid[:H, :W]


def blobs(rng, sigma, n=60, q=1.0, centre=None):
    out = []
    for _ in range(n):
        cy, cx = rng.uniform(10, 22, 2) if centre is None else centre
        p = q * np.exp(-((_yy - cy) ** 2 + (_xx - cx) ** 2) / (2 * sigma ** 2))
        out.append(rng.random((H, W)) < p)
    return np.array(out).reshape(n, -1)


def test_planted_masks_ordering():
    rng = np.random.default_rng(0)
    shape = (1, H, W)
    med = {}
    for s in (1.5, 2.5, 4.0):
        r = rf_width_fit(blobs(rng, s), shape)
        assert r.n_excluded <= 3 and r.detected[~r.excluded].mean() > 0.95
        med[s] = np.nanmedian(r.sigma_x)
    # blob autocorrelation width ~ sqrt(2) * blob sigma, so widths grow and stay far below the image size
    assert med[1.5] < med[2.5] < med[4.0] < 8
    assert 1.2 * 1.5 < med[1.5] < 1.8 * 1.5
    for p in (0.02, 0.1, 0.5):
        r = rf_width_fit(rng.random((60, H * W)) < p, shape)
        assert np.nanmean(r.sigma_x) > 0.8 * H  # random masks: width of the order of the image
        assert np.nanmedian(r.sigma_x) == pytest.approx(H)
    # a local blob plus a floor of scattered weights: the offset absorbs the floor
    m = blobs(rng, 2.0, q=0.8) | (rng.random((60, H * W)) < 0.02)
    r = rf_width_fit(m, shape)
    assert np.median(r.sigma_x) < 6
    # two separated blobs: still local (each patch is compact), far below random
    m = blobs(rng, 2.0, q=0.8, centre=(8, 8)) | blobs(rng, 2.0, q=0.8, centre=(24, 24))
    assert np.median(rf_width_fit(m, shape).sigma_x) < 6


def test_exclusion_and_rgb():
    rng = np.random.default_rng(2)
    m = np.zeros((4, 3 * 16 * 16), bool)
    m[0, :5] = True  # 5 weights < min_weights
    m[1:] = rng.random((3, 768)) < 0.2
    sx, sy = rf_width(m, (3, 16, 16))
    assert np.isnan(sx[0]) and np.isnan(sy[0]) and np.all(np.isfinite(sx[1:]))
    r = rf_width_fit(m, (3, 16, 16))
    assert r.n_excluded == 1 and r.summary()["n_excluded"] == 1


def test_fit_matches_curve_fit():
    from scipy.optimize import curve_fit
    h, w = 9, 11
    shape = (1, h, w)
    n = pair_counts(shape)
    dy, dx = np.mgrid[-(h - 1):h, -(w - 1):w].astype(float)
    rng = np.random.default_rng(3)
    true = [(0.6, 0.05, 1.7, 2.6), (0.3, 0.1, 3.0, 1.2)]
    profiles = []
    for a, c, sx, sy in true:
        y = a * np.exp(-dx ** 2 / (2 * sx ** 2) - dy ** 2 / (2 * sy ** 2)) + c
        y = y * (1 + 0.05 * rng.standard_normal(y.shape))  # noisy but well-posed
        profiles.append(y * n)  # un-normalised S
    res = gaussian_fit_profiles(np.array(profiles), shape)
    keep = (dx != 0) | (dy != 0)

    def model(d, a, c, sx, sy):
        return a * np.exp(-d[0] ** 2 / (2 * sx ** 2) - d[1] ** 2 / (2 * sy ** 2)) + c

    for i, (a, c, sx, sy) in enumerate(true):
        ydat = profiles[i][keep] / n[keep]
        popt, _ = curve_fit(model, np.stack([dx[keep], dy[keep]]), ydat, p0=[a, c, sx, sy],
                            sigma=1 / np.sqrt(n[keep]), xtol=1e-14, ftol=1e-14, gtol=1e-14, maxfev=20000)
        got = [res["amplitude"][i], res["offset"][i], res["sigma_x"][i], res["sigma_y"][i]]
        np.testing.assert_allclose(got, popt, rtol=1e-3, atol=1e-6)


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
