"""RF width: planted widths come back, undetected and excluded units have none (impkit.metrics.receptive_field)."""
import numpy as np
import pytest

from planted_masks import expected_S, gauss_p

from impkit.metrics import gaussian_fit_profiles, mask_correlation, partner_counts, rf_width, rf_width_fit


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
