"""Cavity scores in closed form vs brute force, their sign, and the grouping by fate (impkit.metrics.cavity)."""
import numpy as np
import pytest
import torch

from impkit.metrics import (
    cavity_by_fate_over_rounds,
    cavity_scores,
    cavity_scores_bruteforce,
    fate_round,
    group_by_fate,
)


@pytest.mark.parametrize("with_bias", [False, True])
def test_cavity_closed_form_equals_bruteforce(with_bias):
    g = torch.Generator().manual_seed(3)
    p, d, h = 600, 12, 7
    # non-Gaussian inputs with unequal means and scales; some units platykurtic, some leptokurtic
    x = torch.cat([torch.rand(p, d // 2, generator=g) * 3 + 1,
                   torch.distributions.Laplace(0.5, 1.0).sample((p, d - d // 2))], 1).double()
    w = torch.randn(h, d, generator=g, dtype=torch.float64)
    w[0, :3] = 0.0
    w[1, 6:] = 0.0  # unit 1 sees only uniform inputs: kurtosis < 3
    b = torch.randn(h, generator=g, dtype=torch.float64) if with_bias else None
    fast, k, _ = cavity_scores(w, x, bias=b, batch_size=128, return_kurtosis=True)
    slow = cavity_scores_bruteforce(w, x, bias=b)
    assert (k < 3).any() and (k > 3).any()
    np.testing.assert_allclose(fast.numpy(), slow.numpy(), rtol=1e-5, atol=1e-12)
    assert torch.all(fast[w == 0] == 0)


def test_cavity_sign_convention():
    # lam = sum of a heavy-tailed input and many Gaussian ones: removing a Gaussian weight makes lam less Gaussian
    g = torch.Generator().manual_seed(4)
    p = 20000
    x = torch.cat([torch.distributions.Laplace(0.0, 3.0).sample((p, 1)), torch.randn(p, 5, generator=g)], 1)
    w = torch.ones(1, 6, dtype=torch.float64)
    s = cavity_scores(w, x)
    assert s[0, 0] < 0  # removing the Laplace input -> Gaussian (kurt > 3 branch: score negative)
    assert torch.all(s[0, 1:] > 0)


def test_fate_round_and_grouping():
    m0 = np.ones((2, 3), int)
    m1 = np.array([[1, 0, 1], [1, 1, 0]])
    m2 = np.array([[1, 0, 0], [0, 1, 0]])
    fate = fate_round([m0, m1, m2])
    np.testing.assert_array_equal(fate, [[3, 1, 2], [2, 3, 1]])
    assert fate_round([m0, m1, m2], never=-1)[0, 0] == -1
    with pytest.raises(ValueError):
        fate_round([m0, m2, m1])
    scores = np.array([[0.0, 1.0, 2.0], [4.0, 5.0, 3.0]])
    gr = group_by_fate(scores, fate)
    np.testing.assert_array_equal(gr["fate"], [1, 2, 3])
    np.testing.assert_allclose(gr["mean"], [2.0, 3.0, 2.5])
    np.testing.assert_array_equal(gr["count"], [2, 2, 2])
    out = cavity_by_fate_over_rounds([scores, scores], [m0, m1, m2], prune_fraction=0.5)
    np.testing.assert_allclose(out["n_w"], [6, 3])
    np.testing.assert_allclose(out["mean"][0], [2.0 * 6, 3.0 * 6, 2.5 * 6])
    # after round 1 only survivors of m1 count: fate-1 weights are gone
    assert np.isnan(out["mean"][1, 0])
    np.testing.assert_allclose(out["mean"][1, 1:], [3.0 * 3, 2.5 * 3])


def test_last_weight_of_a_unit_has_no_score():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.laplace(size=(500, 6)))
    w = torch.zeros(2, 6, dtype=torch.float64)
    w[0, 2] = 0.7  # unit 0 keeps one weight: removing it leaves a constant
    w[1, :3] = torch.tensor([0.5, -0.3, 0.2])
    s = cavity_scores(w, x)
    assert torch.isnan(s[0, 2]) and (s[0, [0, 1, 3, 4, 5]] == 0).all()
    assert torch.isfinite(s[1]).all()


# ------------------------------------------------------------------------------------------------
# C4's statistic and its magnitude-binned fate-shuffle null
# ------------------------------------------------------------------------------------------------
def _nested_masks(rng, shape, rounds, rate=0.3):
    """m(0..rounds): each round drops the fraction ``rate`` of survivors at random; returns masks and fate."""
    m = [np.ones(shape, bool)]
    for _ in range(rounds):
        cur = m[-1].copy()
        idx = np.flatnonzero(cur)
        cur.ravel()[rng.choice(idx, int(round(rate * idx.size)), replace=False)] = False
        m.append(cur)
    return m


def test_on_time_share_counts_groups_positive_the_round_before_removal():
    from impkit.metrics.cavity import fate_round, on_time_share

    rng = np.random.default_rng(0)
    masks = _nested_masks(rng, (6, 40), 5)
    fate = fate_round(masks)
    # scores positive exactly for the weights removed at the next round: every group is on time
    scores = [np.where(fate == n + 1, 1.0, -1.0) for n in range(5)]
    assert on_time_share(scores, masks) == 1.0
    assert on_time_share([-s for s in scores], masks) == 0.0
    # only fates 1 and 2 positive on time: 2 of 5 groups
    scores2 = [np.where((fate == n + 1) & (fate <= 2), 1.0, -1.0) for n in range(5)]
    assert on_time_share(scores2, masks) == 0.4


def test_shuffled_share_removes_the_link_but_keeps_what_magnitude_explains():
    from impkit.metrics.cavity import fate_round, on_time_share, shuffled_on_time_share

    rng = np.random.default_rng(1)
    shape = (20, 60)
    masks = _nested_masks(rng, shape, 6)
    fate = fate_round(masks)
    mag = rng.random(shape)
    # scores that know each weight's own fate: on time always, but at chance once fates are shuffled
    scores = [np.where(fate == n + 1, 1.0, -1.0) + 0.01 * rng.standard_normal(shape) for n in range(6)]
    assert on_time_share(scores, masks) == 1.0
    null = shuffled_on_time_share(scores, masks, mag, n_shuffles=10, seed=0)
    assert null < 0.3
    # scores that only depend on magnitude, where fate is set by magnitude: the null explains them fully
    order = np.argsort(mag.ravel())
    fate_by_mag = np.empty(mag.size, int)
    fate_by_mag[order] = np.repeat(np.arange(1, 7), -(-mag.size // 6))[: mag.size]
    fate_by_mag = fate_by_mag.reshape(shape)
    masks2 = [np.ones(shape, bool)] + [fate_by_mag > n for n in range(1, 7)]
    scores2 = [np.where(fate_by_mag == n + 1, 1.0, -1.0) for n in range(6)]
    assert on_time_share(scores2, masks2) == 1.0
    assert shuffled_on_time_share(scores2, masks2, mag, n_bins=6, n_shuffles=5, seed=0) == 1.0
