"""impkit.verdicts: the claim rules on small synthetic inputs, edge cases included, and (randomised) agreement
with the rules as the notebooks wrote them before they moved here."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from impkit import verdicts as V
from impkit.conditions import Condition

NAN = float("nan")


def S(mean, lo=None, hi=None):
    """A summary {"mean", "min", "max"} (min = max = mean when not given)."""
    return {"mean": mean, "min": mean if lo is None else lo, "max": mean if hi is None else hi}


# ------------------------------------------------------------------------------------------------
# vocabulary and comparisons
# ------------------------------------------------------------------------------------------------
def test_vocabulary():
    assert V.VERDICTS == ("reproduced", "partly reproduced", "not reproduced", "undefined")
    assert V.ANSWERS == ("yes", "mean", "no", "n/a")
    assert (V.IMP, V.ONESHOT, V.RANDOM, V.IMP_CLONE) == (
        Condition("imp"), Condition("oneshot"), Condition("random"), Condition("imp", clone=True))


@pytest.mark.parametrize("a, b, larger, answer", [
    (S(5, 4, 6), S(2, 1, 3), True, "yes"),        # ranges separate
    (S(5, 3, 6), S(2, 1, 3), True, "mean"),       # touching ranges are not separate
    (S(5, 1, 9), S(4, 2, 8), True, "mean"),       # overlap, mean ahead
    (S(4, 1, 9), S(4, 2, 8), True, "no"),         # tied means
    (S(3, 1, 9), S(4, 2, 8), True, "no"),
    (S(2, 1, 3), S(5, 4, 6), False, "yes"),       # smaller is ahead (RF width)
    (S(2, 1, 4), S(5, 4, 6), False, "mean"),
    (S(5, 4, 6), S(5, 4, 6), False, "no"),
    (S(NAN), S(1.0), True, "n/a"),                 # an undefined value on either side
    (S(1.0), S(NAN), False, "n/a"),
    (S(math.inf), S(1.0), True, "n/a"),
])
def test_compare_summaries(a, b, larger, answer):
    assert V.compare_summaries(a, b, larger=larger) == answer


def test_compare_from_per_seed_values_drops_nan_seeds():
    assert V.summarize([1.0, NAN, 3.0]) == {"mean": 2.0, "min": 1.0, "max": 3.0, "n": 2}
    s = V.summarize([NAN, NAN])
    assert s["n"] == 0 and all(math.isnan(s[k]) for k in ("mean", "min", "max"))
    assert V.compare([1.0, NAN, 2.0], [3.0, 4.0], larger=False) == "yes"
    assert V.compare([1.0, NAN, 3.5], [3.0, 4.0], larger=False) == "mean"
    assert V.compare([3.0, 4.0], [1.0, 2.0], larger=False) == "no"
    assert V.compare([NAN], [1.0], larger=True) == "n/a"
    assert V.compare(np.array([2.0, 3.0]), np.array([0.5, 1.5]), larger=True) == "yes"


# ------------------------------------------------------------------------------------------------
# combining
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("parts, verdict", [
    ((True, True), "reproduced"), ((True, False), "partly reproduced"), ((False, True), "partly reproduced"),
    ((False, False), "not reproduced"), ((True,), "reproduced"), ((), "undefined"),
])
def test_verdict_from_parts(parts, verdict):
    assert V.verdict_from_parts(*parts) == verdict


@pytest.mark.parametrize("answers, verdict", [
    (("yes", "yes"), "reproduced"),
    (("yes", "mean"), "partly reproduced"),
    (("yes", "no"), "partly reproduced"),
    (("mean", "no"), "partly reproduced"),
    (("no", "no"), "not reproduced"),
    (("n/a", "yes"), "reproduced"),           # undefined comparisons are left out
    (("n/a", "no"), "not reproduced"),
    (("n/a", "n/a"), "undefined"),
    ((), "undefined"),
])
def test_combine_answers(answers, verdict):
    assert V.combine_answers(*answers) == verdict


@pytest.mark.parametrize("per_measure, verdict", [
    ({"a": "reproduced", "b": "reproduced"}, "reproduced"),
    ({"a": "reproduced", "b": "undefined"}, "reproduced"),
    ({"a": "reproduced", "b": "not reproduced"}, "partly reproduced"),
    ({"a": "partly reproduced", "b": "not reproduced"}, "partly reproduced"),
    ({"a": "not reproduced", "b": "undefined"}, "not reproduced"),
    ({"a": "undefined", "b": "undefined"}, "undefined"),
    ({}, "undefined"),
])
def test_combine(per_measure, verdict):
    assert V.combine(per_measure) == verdict
    assert V.combine(list(per_measure.values())) == verdict


# ------------------------------------------------------------------------------------------------
# C1
# ------------------------------------------------------------------------------------------------
def test_c1():
    r = V.c1(0.4, 0.1, 20.0, 10.0)
    assert (r.verdict, r.ratio, r.local, r.heavier) == ("reproduced", 4.0, True, True)
    assert V.c1(0.31, 0.2, 20.0, 10.0).verdict == "reproduced"           # 1.55x
    tie = V.c1(1.5, 1.0, 5.0, 5.0)                                        # ratio exactly at the threshold, tied tails
    assert (tie.local, tie.heavier, tie.verdict) == (False, False, "not reproduced")
    assert V.c1(0.2, 0.1, 5.0, 6.0).verdict == "partly reproduced"      # local but lighter tails
    assert V.c1(0.1, 0.1, 6.0, 5.0).verdict == "partly reproduced"      # heavier but not local
    assert V.c1(0.2, 0.1, 5.0, 6.0, min_ratio=3.0).verdict == "not reproduced"
    assert isinstance(V.c1(np.float64(0.2), np.float64(0.1), 1.0, 0.0).ratio, float)  # glue-safe


def test_c1_degenerate_inputs():
    z = V.c1(0.2, 0.0, 6.0, 5.0)
    assert z.ratio == math.inf and z.verdict == "reproduced"
    assert math.isnan(V.c1(0.0, 0.0, 6.0, 5.0).ratio)
    n = V.c1(NAN, 0.1, NAN, 5.0)
    assert (n.local, n.heavier, n.verdict) == (False, False, "not reproduced")


# ------------------------------------------------------------------------------------------------
# C2 and C3, locality
# ------------------------------------------------------------------------------------------------
def _summaries(imp, oneshot, random, imp_clone):
    return {V.IMP: imp, V.ONESHOT: oneshot, V.RANDOM: random, V.IMP_CLONE: imp_clone}


def test_widths_where_detected():
    widths = _summaries({**S(2.0, 1.0, 3.0), "sparsity": 0.9}, S(3.0), S(9.0), S(4.0))
    det = _summaries(S(0.5), S(0.10), S(NAN), S(0.1000001))
    out = V.widths_where_detected(widths, det)
    assert list(out) == list(widths)
    assert out[V.IMP] == widths[V.IMP] and out[V.IMP_CLONE]["mean"] == 4.0
    for k in (V.ONESHOT, V.RANDOM):  # rate exactly at the threshold, or undefined: no width
        assert all(math.isnan(out[k][s]) for s in ("mean", "min", "max"))
    assert out[V.IMP]["sparsity"] == 0.9 and widths[V.ONESHOT]["mean"] == 3.0  # the input is not changed
    assert not math.isnan(V.widths_where_detected(widths, det, min_rate=0.05)[V.ONESHOT]["mean"])


def test_locality_checks_directions():
    li = _summaries(S(3.0, 2.8, 3.2), S(2.0, 1.9, 2.5), S(1.0, 0.9, 1.1), S(2.9, 2.5, 3.0))
    assert V.locality_checks(li, larger_is_local=True) == {
        "IMP vs one-shot": "yes", "one-shot vs random": "yes", "IMP data vs clone": "mean",
        "IMP clone vs random": "yes"}
    width = _summaries(S(2.0, 1.5, 2.5), S(2.2, 1.0, 3.0), S(NAN), S(5.0, 4.0, 6.0))
    assert V.locality_checks(width, larger_is_local=False) == {
        "IMP vs one-shot": "mean", "one-shot vs random": "n/a", "IMP data vs clone": "yes",
        "IMP clone vs random": "n/a"}


@pytest.mark.parametrize("first, second, verdict", [
    ("yes", "no", "reproduced"),
    ("yes", "yes", "partly reproduced"),      # more local on data, but the clone still beats random
    ("yes", "n/a", "partly reproduced"),
    ("mean", "no", "partly reproduced"),
    ("no", "no", "not reproduced"),
    ("n/a", "no", "undefined"),
])
def test_c2_verdict(first, second, verdict):
    assert V.c2_verdict({"IMP data vs clone": first, "IMP clone vs random": second}) == verdict


@pytest.mark.parametrize("a, b, verdict", [
    ("yes", "yes", "reproduced"), ("yes", "n/a", "reproduced"), ("mean", "yes", "partly reproduced"),
    ("no", "no", "not reproduced"), ("n/a", "n/a", "undefined"),
])
def test_c3_locality_verdict(a, b, verdict):
    assert V.c3_locality_verdict({"IMP vs one-shot": a, "one-shot vs random": b}) == verdict


def test_locality_combines_measures():
    width = _summaries(S(2.0, 1.5, 2.5), S(3.0, 2.8, 3.5), S(NAN), S(NAN))
    det = _summaries(S(0.6, 0.5, 0.7), S(0.3, 0.2, 0.4), S(0.03, 0.02, 0.04), S(0.5, 0.45, 0.65))
    li = _summaries(S(2.0, 1.8, 2.2), S(1.5, 1.4, 1.9), S(1.0, 0.9, 1.1), S(1.9, 1.7, 2.1))
    r = V.locality({"RF width": width, "detection rate": det, "locality index": li})
    assert list(r.checks) == ["RF width", "detection rate", "locality index"]
    assert r.checks["RF width"]["one-shot vs random"] == "n/a"
    assert r.c3 == {"RF width": "reproduced", "detection rate": "reproduced", "locality index": "partly reproduced"}
    assert r.c2 == {"RF width": "undefined", "detection rate": "partly reproduced",
                    "locality index": "partly reproduced"}
    assert (r.c3_verdict, r.c2_verdict) == ("partly reproduced", "partly reproduced")
    # a condition set without any defined width: C2 rests on the other measures
    r2 = V.locality({"RF width": _summaries(S(NAN), S(NAN), S(NAN), S(NAN))})
    assert (r2.c3_verdict, r2.c2_verdict) == ("undefined", "undefined")
    with pytest.raises(KeyError):
        V.locality({"not a measure": li})


# ------------------------------------------------------------------------------------------------
# C3, kurtosis
# ------------------------------------------------------------------------------------------------
def test_c3_kurtosis_reproduced_and_light_tails_count_as_distance():
    one = np.array([[3.0, 3.1, 3.1, 3.2], [3.0, 3.0, 3.1, 3.1]])
    imp = np.array([[3.0, 3.3, 3.6, 4.0], [3.0, 3.2, 3.5, 3.9]])
    r = V.c3_kurtosis(imp, one)
    assert r.verdict == "reproduced" and r.imp_above and r.grows
    np.testing.assert_allclose(r.gap, [0.0, 0.2, 0.45, 0.8])
    mirrored = V.c3_kurtosis(6.0 - imp, 6.0 - one)   # the same distances below 3
    assert mirrored.verdict == "reproduced"
    np.testing.assert_allclose(mirrored.gap, r.gap)


def test_c3_kurtosis_partly_and_not():
    one = np.array([[3.0, 3.1, 3.1, 3.2], [3.0, 3.0, 3.1, 3.1]])
    overlap = np.array([[3.0, 3.3, 3.6, 4.4], [3.0, 3.2, 3.5, 3.15]])  # one IMP seed not above at the end
    r = V.c3_kurtosis(overlap, one)
    assert (r.imp_above, r.grows, r.verdict) == (False, True, "partly reproduced")
    shrinking = np.array([[3.0, 3.3, 3.9, 3.6], [3.0, 3.2, 3.9, 3.5]])  # above at the end but the gap shrank
    r = V.c3_kurtosis(shrinking, one)
    assert (r.imp_above, r.grows, r.verdict) == (True, False, "partly reproduced")
    assert V.c3_kurtosis(one, one).verdict == "not reproduced"          # tie: no gap
    assert V.c3_kurtosis(one, overlap).verdict == "not reproduced"
    middle_negative = np.array([[3.0, 3.0, 3.0, 3.9], [3.0, 3.0, 3.0, 3.9]])  # gap grows from < 0: not "grows"
    assert V.c3_kurtosis(middle_negative, one).grows is False
    nan = np.array([[3.0, 3.3, 3.6, NAN], [3.0, 3.2, 3.5, 3.9]])
    r = V.c3_kurtosis(nan, one)
    assert math.isnan(r.gap[-1]) and r.verdict == "not reproduced"


# ------------------------------------------------------------------------------------------------
# C4
# ------------------------------------------------------------------------------------------------
def test_c4_just_in_time():
    never = 5
    fates = np.array([0, 1, 2, 3, 4, 5])
    over = np.array([[0.0, 1.0, -1.0, -1.0, -1.0, 9.0],    # scored after round 0: fate 1 is due -> positive
                     [0.0, NAN, 2.0, -1.0, -1.0, 9.0],     # after round 1: fate 2 -> positive
                     [0.0, NAN, NAN, -0.5, -1.0, 9.0]])    # after round 2: fate 3 -> negative; fate 4 not scored
    assert V.c4_just_in_time(over, fates, never) == (2, 3)  # fates 0 and never are not counted
    assert V.c4_just_in_time(over[:0], fates, never) == (0, 0)
    assert V.c4_just_in_time(np.full((3, 6), NAN), fates, never) == (0, 3)  # NaN is not positive
    assert V.c4_just_in_time(np.zeros((3, 6)), fates, never) == (0, 3)  # nor is 0
    # "never" is never counted, even where a scoring round exists for it
    assert V.c4_just_in_time(np.ones((6, 6)), fates, never) == (4, 4)


def test_c4_fate_trend():
    fates = np.array([1, 2, 3, 4, 5, 6])
    mean = np.array([3.0, 1.0, 0.5, -1.0, NAN, 7.0])   # 6 = never: left out of "late" and of the correlations
    share = np.array([0.6, 0.55, 0.5, 0.45, 0.4, 0.9])
    t = V.c4_fate_trend(fates, mean, share, never=6)
    assert (t.early, t.late) == (2.0, -1.0)
    assert t.rho_sign == pytest.approx(-1.0)
    ok = np.isfinite(mean[:5])
    assert math.isnan(t.rho) or t.rho == pytest.approx(spearmanr(fates[:5][ok], mean[:5][ok]).statistic)


@pytest.mark.parametrize("early, late, hits, total, rho_sign, verdict", [
    (1.0, -1.0, 8, 10, 0.0, "reproduced"),          # 5B and 5C (exactly 80 % on time)
    (1.0, -1.0, 7, 10, 0.0, "partly reproduced"),   # 5B only
    (0.0, -1.0, 10, 10, 0.0, "partly reproduced"),  # 5C only (on time, early not positive)
    (-1.0, -2.0, 4, 10, -0.6, "partly reproduced"),  # only the share of positive scores falls with fate
    (-1.0, -2.0, 5, 10, 0.0, "partly reproduced"),  # half the groups on time
    (-1.0, -2.0, 4, 10, -0.5, "not reproduced"),    # rho exactly at the threshold is not enough
    (1.0, 0.0, 0, 0, 0.0, "not reproduced"),        # late not negative, nothing scored
    (1.0, -1.0, 0, 0, 0.0, "partly reproduced"),    # no group could be scored: 5C fails
    (NAN, -1.0, 0, 3, NAN, "not reproduced"),
])
def test_c4_verdict(early, late, hits, total, rho_sign, verdict):
    assert V.c4_verdict(early, late, hits, total, rho_sign) == verdict


def test_c4_bundles_the_parts():
    fates = np.array([1, 2, 3, 4, 5])
    mean, share = np.array([2.0, 1.0, 0.0, -1.0, -2.0]), np.array([0.7, 0.6, 0.5, 0.4, 0.3])
    over = np.array([[1.0, -1, -1, -1, -1], [0, 1.0, -1, -1, -1], [0, 0, 1.0, -1, -1], [0, 0, 0, 1.0, -1]])
    r = V.c4(fates, mean, share, over, fates, never=5)
    assert (r.hits, r.total, r.verdict) == (4, 4, "reproduced")
    assert r.trend == V.c4_fate_trend(fates, mean, share, 5)


# ------------------------------------------------------------------------------------------------
# the rules as the notebooks wrote them: the module must give the same verdicts on random inputs
# ------------------------------------------------------------------------------------------------
def _legacy_more_local(fs, a, b, larger_is_local):
    if not (np.isfinite(fs[a]["mean"]) and np.isfinite(fs[b]["mean"])):
        return "n/a"
    lo_a, hi_a, lo_b, hi_b = fs[a]["min"], fs[a]["max"], fs[b]["min"], fs[b]["max"]
    if larger_is_local:
        return "yes" if lo_a > hi_b else ("mean" if fs[a]["mean"] > fs[b]["mean"] else "no")
    return "yes" if hi_a < lo_b else ("mean" if fs[a]["mean"] < fs[b]["mean"] else "no")


def _legacy_verdict(*answers):
    answers = [x for x in answers if x != "n/a"]
    if not answers:
        return "undefined"
    if all(x == "yes" for x in answers):
        return "reproduced"
    return "partly reproduced" if any(x != "no" for x in answers) else "not reproduced"


def _legacy_c2(c):
    if c["IMP data vs clone"] == "n/a":
        return "undefined"
    if c["IMP data vs clone"] == "yes" and c["IMP clone vs random"] == "no":
        return "reproduced"
    return "partly reproduced" if c["IMP data vs clone"] != "no" else "not reproduced"


def _legacy_combine(per_measure):
    v = [x for x in per_measure.values() if x != "undefined"]
    if not v:
        return "undefined"
    if all(x == "reproduced" for x in v):
        return "reproduced"
    return "partly reproduced" if any(x != "not reproduced" for x in v) else "not reproduced"


def _legacy_04(fs_w, fs_det, fs_li):
    fs_w = dict(fs_w)
    for k in fs_w:
        if not fs_det[k]["mean"] > 0.10:
            fs_w[k] = {**fs_w[k], "mean": NAN, "min": NAN, "max": NAN}
    checks = {}
    for metric, fs, larger in (("RF width", fs_w, False), ("detection rate", fs_det, True),
                               ("locality index", fs_li, True)):
        checks[metric] = {
            "IMP vs one-shot": _legacy_more_local(fs, "imp", "oneshot", larger),
            "one-shot vs random": _legacy_more_local(fs, "oneshot", "random", larger),
            "IMP data vs clone": _legacy_more_local(fs, "imp", "imp clone", larger),
            "IMP clone vs random": _legacy_more_local(fs, "imp clone", "random", larger),
        }
    c3 = {m: _legacy_verdict(c["IMP vs one-shot"], c["one-shot vs random"]) for m, c in checks.items()}
    c2 = {m: _legacy_c2(c) for m, c in checks.items()}
    return checks, c3, c2, _legacy_combine(c3), _legacy_combine(c2), fs_w


def _random_summary(rng, scale, nan_p=0.15):
    v = np.round(rng.uniform(0, scale, size=rng.integers(1, 4)), 1)  # coarse grid: ties and touching ranges
    v[rng.random(v.size) < nan_p] = NAN
    return V.summarize(v)


def test_locality_matches_the_notebook_rule_on_random_inputs():
    rng = np.random.default_rng(0)
    labels = ("imp", "oneshot", "random", "imp clone")
    seen = set()
    for _ in range(3000):
        w, d, li = ({lab: _random_summary(rng, s) for lab in labels} for s in (3.0, 0.3, 2.0))
        checks, c3, c2, c3_v, c2_v, w_old = _legacy_04(w, d, li)
        by_cond = lambda fs: {Condition.from_label(k): v for k, v in fs.items()}  # noqa: E731
        w_new = V.widths_where_detected(by_cond(w), by_cond(d))
        r = V.locality({"RF width": w_new, "detection rate": by_cond(d), "locality index": by_cond(li)})
        assert (r.checks, r.c3, r.c2, r.c3_verdict, r.c2_verdict) == (checks, c3, c2, c3_v, c2_v)
        for k, v in w_old.items():
            np.testing.assert_equal(w_new[Condition.from_label(k)], v)
        seen.update((c3_v, c2_v))
    assert seen == set(V.VERDICTS)


def test_c1_matches_the_notebook_rule_on_random_inputs():
    rng = np.random.default_rng(1)
    for _ in range(2000):
        iw, pw, ik, pk = np.round(rng.uniform(0.05, 1, 2), 2).tolist() + np.round(rng.uniform(2, 6, 2), 0).tolist()
        ratio = iw / pw
        local, heavier = ratio > 1.5, ik > pk
        old = "reproduced" if (local and heavier) else ("partly reproduced" if (local or heavier) else "not reproduced")
        r = V.c1(iw, pw, ik, pk)
        assert (r.verdict, r.ratio, r.heavier) == (old, ratio, heavier)


def test_c3_kurtosis_matches_the_notebook_rule_on_random_inputs():
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(2000):
        seeds, rounds = rng.integers(1, 4), rng.integers(2, 8)
        c = {k: np.round(rng.normal(3.0, 0.4, (seeds, rounds)), 1) for k in ("imp", "oneshot", "random")}
        ng = {key: np.abs(c[key] - 3.0) for key in ("imp", "oneshot", "random")}
        gap = ng["imp"].mean(0) - ng["oneshot"].mean(0)
        imp_above = ng["imp"][:, -1].min() > ng["oneshot"][:, -1].max()
        grows = bool(gap[-1] > gap[len(gap) // 2] > 0)
        old = "reproduced" if (imp_above and grows) else ("partly reproduced" if gap[-1] > 0 else "not reproduced")
        r = V.c3_kurtosis(c["imp"], c["oneshot"])
        assert r.verdict == old
        np.testing.assert_array_equal(r.gap, gap)
        seen.add(old)
    assert seen == {"reproduced", "partly reproduced", "not reproduced"}


def test_c4_matches_the_notebook_rule_on_random_inputs():
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(3000):
        early, late, rho_sign = np.round(rng.normal(0, 1, 3), 1)
        total = int(rng.integers(0, 11))
        hits = int(rng.integers(0, total + 1))
        b_ok = early > 0 > late
        c_ok = total > 0 and hits / total >= 0.8
        ordered = rho_sign < -0.5
        old = "reproduced" if (b_ok and c_ok) else (
            "partly reproduced" if (b_ok or ordered or hits / max(total, 1) >= 0.5) else "not reproduced")
        assert V.c4_verdict(early, late, hits, total, rho_sign) == old
        seen.add(old)
    assert seen == {"reproduced", "partly reproduced", "not reproduced"}


def test_effect_trend_needs_separated_seed_ranges():
    assert V.effect_trend([0.1, 0.2], [0.3, 0.25]) == V.GROWS
    assert V.effect_trend([0.1, 0.3], [0.25, 0.4]) == V.FLAT  # means grow, ranges overlap
    assert V.effect_trend([0.5], [0.1, 0.2]) == V.SHRINKS
    assert V.effect_trend([float("nan")], [0.2]) == V.UNDEFINED


def test_scale_trend_lists_rungs_by_verdict():
    t = V.scale_trend(["a", "b", "c", "d"],
                             [V.PARTLY, V.REPRODUCED, V.UNDEFINED, V.REPRODUCED],
                             base=[0.1, 0.2], top=[0.5, 0.6])
    assert t.reproduced == ["b", "d"] and t.partly == ["a"] and t.not_reproduced == []
    assert t.first_reproduced == "b" and t.base == pytest.approx(0.15) and t.trend == V.GROWS
    none = V.scale_trend(["a"], [V.NOT_REPRODUCED], base=[0.1], top=[0.1])
    assert none.first_reproduced is None and none.trend == V.FLAT


def test_dose_answers():
    a = V.dose_answers([0.6, 0.7], [0.05, 0.04], [0.65, 0.5], [[3.5, 4.2], [3.6, 3.9]], [[3.5, 4.0], [3.6, 4.5]])
    assert a.localises == V.YES and a.data_over_clone == V.MEAN  # 0.65 > 0.6: ranges overlap, means ordered
    assert a.kurt_above_3 == V.YES and a.kurt_rises == V.YES
    assert a.kurt_over_oneshot == V.NO  # mean 4.05 < 4.25
    sub = V.dose_answers([0.1], [0.05], [0.2], [[2.6, 2.4]], [[2.6, 2.5]])
    assert sub.kurt_above_3 == V.NO and sub.kurt_rises == V.NO and sub.data_over_clone == V.NO
    assert sub.kurt_over_oneshot == V.YES  # 2.4 is further from Gaussian than 2.5: light tails count too


# ---------------------------------------------------------------------------------------------------------------
# the appendix's choice of the default task
# ---------------------------------------------------------------------------------------------------------------
def test_default_choice_follows_the_measurement_either_way():
    from impkit.verdicts import default_choice

    names = ["preset task", "nearly Gaussian", "solved", "unlearnt"]
    classes = [2, 2, 2, 10]
    acc = [0.75, 0.86, 0.995, 0.15]  # "solved" is too easy; "unlearnt" is within a quarter of chance (0.1 -> 0.325)
    first = default_choice(names, classes, acc, [5.0, 2.5, 99.0, 99.0])
    assert first.best == "preset task" and first.preset_is_best and first.preset_rank == 1
    assert first.ranking == ["preset task", "nearly Gaussian"]
    assert first.qualifies == {"preset task": True, "nearly Gaussian": True, "solved": False, "unlearnt": False}
    assert first.preset_standing == "first of 2 qualifying candidates"
    second = default_choice(names, classes, acc, [-7.25, 2.49, 99.0, 99.0])
    assert second.best == "nearly Gaussian" and not second.preset_is_best and second.preset_rank == 2
    assert second.preset_standing == "second of 2 qualifying candidates"
    out = default_choice(names, classes, [0.999, 0.86, 0.5, 0.5], [9.0, 1.0, 0.0, 0.0])
    assert out.preset_rank is None and out.preset_standing == "not a qualifying candidate" and out.best != names[0]
    # NaN scores rank last; with nothing qualifying the best is the top score overall
    none = default_choice(["a", "b"], [2, 2], [1.0, 1.0], [float("nan"), 1.0])
    assert none.best == "b" and none.ranking == []
