"""Mask correlation S(d), pair counts N(d), partner counts X(d), locality index (impkit.metrics.correlation)."""
import numpy as np
import pytest
import torch

from planted_masks import blob_masks

from impkit.metrics import locality_index, mask_correlation, pair_counts, partner_counts


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


def test_locality_index_random_masks_are_one():
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
    rng = np.random.default_rng(4)
    side = 24
    means = [np.nanmean(locality_index(blob_masks(rng, 60, side, s, 20), (1, side, side))) for s in (1.5, 3, 5)]
    assert means[0] > means[1] > means[2] > 1.5, means
    tiny = np.zeros((1, side * side), dtype=bool)
    tiny[0, :5] = True
    assert np.isnan(locality_index(tiny, (1, side, side), min_weights=8)[0])
