"""impkit.verdicts: the calibrated rule (interval over seeds against a margin), each claim's primary effect, the
calibration of false-positive rates, and the descriptive helpers the pages use."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.stats import spearmanr

from impkit import verdicts as V
from impkit.conditions import Condition

NAN = float("nan")


# ------------------------------------------------------------------------------------------------
# vocabulary and the rule
# ------------------------------------------------------------------------------------------------
def test_vocabulary_has_no_partly():
    assert V.VERDICTS == ("reproduced", "opposite", "not reproduced", "inconclusive", "undefined")
    assert not any("partly" in v for v in V.VERDICTS)
    assert not hasattr(V, "PARTLY")
    assert (V.IMP, V.ONESHOT, V.RANDOM, V.IMP_CLONE, V.RANDOM_CLONE) == (
        Condition("imp"), Condition("oneshot"), Condition("random"), Condition("imp", clone=True),
        Condition("random", clone=True))


@pytest.mark.parametrize("lo, hi, verdict", [
    (1.2, 3.0, "reproduced"),          # lower bound beyond +δ
    (1.0, 3.0, "inconclusive"),        # touching the margin is not beyond it
    (-3.0, -1.5, "opposite"),
    (-0.5, 0.9, "not reproduced"),     # inside ±δ: the effect is absent
    (-0.5, 1.0, "inconclusive"),       # touching
    (0.5, 2.0, "inconclusive"),        # positive but not beyond δ, nor inside
    (-2.0, 2.0, "inconclusive"),
    (NAN, 1.0, "undefined"),
    (-math.inf, math.inf, "inconclusive"),
])
def test_decide(lo, hi, verdict):
    assert V.decide(lo, hi, 1.0) == verdict


def test_decide_vectorised_equals_scalar():
    rng = np.random.default_rng(0)
    lo = rng.normal(0, 2, 500)
    hi = lo + rng.exponential(1.5, 500)
    vec = V.decide(lo, hi, 1.0)
    assert list(vec) == [V.decide(a, b, 1.0) for a, b in zip(lo, hi)]


def test_judge_is_the_one_sample_t_interval():
    v = [1.5, 2.0, 2.5, 3.1]
    e = V.judge(v, 1.0)
    t = stats.t.ppf(0.95, 3)
    se = np.std(v, ddof=1) / 2
    assert e.mean == pytest.approx(np.mean(v)) and e.se == pytest.approx(se) and e.n == 4 and e.df == 3
    assert (e.lo, e.hi) == (pytest.approx(np.mean(v) - t * se), pytest.approx(np.mean(v) + t * se))
    assert e.verdict == "reproduced" and e.mde == pytest.approx(1.0 + t * se)
    assert e.values == tuple(v) and "δ = 1" in e.text
    # scipy's own interval agrees
    lo, hi = stats.t.interval(0.90, 3, loc=np.mean(v), scale=se)
    assert (e.lo, e.hi) == (pytest.approx(lo), pytest.approx(hi))


def test_judge_edge_cases():
    assert V.judge([NAN, NAN], 1.0).verdict == "undefined"
    one = V.judge([5.0], 1.0)
    assert one.verdict == "inconclusive" and one.n == 1  # no interval from one seed
    assert V.judge([5.0, NAN, 5.0], 1.0).verdict == "reproduced"  # no spread: the point is the interval
    assert V.judge([0.0, 0.0, 0.0], 1.0).verdict == "not reproduced"
    assert V.judge([0.1, -0.1, 0.05, 0.0, 0.02], 1.0).verdict == "not reproduced"
    assert V.judge([-3.0, -2.5, -3.2], 1.0).verdict == "opposite"
    assert V.judge([3.0, -2.0, 1.0], 1.0).verdict == "inconclusive"


def test_in_words():
    assert V.in_words("reproduced", "higher", "lower") == "higher by more than δ"
    assert V.in_words("opposite", "higher", "lower") == "lower by more than δ"
    assert V.in_words("not reproduced") == "the same within δ" and V.in_words("inconclusive") == "undecided"


def test_paired_and_unpaired():
    a, b = np.array([3.0, 3.2, 3.1]), np.array([1.0, 1.1, 0.9])
    p = V.judge_paired(a, b, 1.0)
    assert p.values == pytest.approx(tuple(a - b)) and p.verdict == "reproduced"
    u = V.judge_unpaired(a, b, 1.0)
    se = math.sqrt(a.var(ddof=1) / 3 + b.var(ddof=1) / 3)
    assert u.mean == pytest.approx(2.1) and u.se == pytest.approx(se) and u.verdict == "reproduced"
    # Welch-Satterthwaite degrees of freedom (equal variances and sizes: 2n - 2)
    assert V.judge_unpaired([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], 0.5).df == pytest.approx(4.0)
    with pytest.raises(ValueError):
        V.judge_paired([1.0, 2.0], [1.0], 1.0)
    # pairing removes a shared seed effect that the unpaired test cannot
    shared = np.array([0.0, 5.0, -5.0, 3.0])
    a, b = shared + 2.0 + np.array([0.1, -0.1, 0.05, 0.0]), shared
    assert V.judge_paired(a, b, 1.0).verdict == "reproduced"
    assert V.judge_unpaired(a, b, 1.0).verdict == "inconclusive"
    assert V.judge_pair(a, b, 1.0, paired=True) == V.judge_paired(a, b, 1.0)


# ------------------------------------------------------------------------------------------------
# the claims
# ------------------------------------------------------------------------------------------------
def test_every_claim_declares_a_positive_margin_and_its_reason():
    assert set(V.CLAIMS) == {"C1", "C2a", "C2b", "C3a", "C3b", "C4"}
    for c in V.CLAIMS.values():
        assert c.delta > 0 and c.why_delta and c.effect and c.expected in V.VERDICTS
    assert V.CLAIMS["C2b"].expected == "not reproduced"  # the paper: no local RFs on the clone
    assert not V.CLAIMS["C2a"].paired and V.CLAIMS["C2b"].paired and V.CLAIMS["C3a"].paired


def test_c2_parts_and_orientation():
    # narrower on the data (2 px) than on the clone (6 px); clone as wide as random
    r = V.c2([2.0, 2.1, 1.9], [6.0, 6.3, 5.8], [6.1, 6.2, 5.9])
    assert r["C2a"].verdict == "reproduced" and r["C2a"].mean == pytest.approx(4.033, abs=1e-3)
    assert r["C2b"].verdict == "not reproduced" and V.agrees("C2b", r["C2b"].verdict)
    # a clone that localises as well as the data: C2a not reproduced, C2b reproduced (against the paper)
    r = V.c2([2.0, 2.1, 1.9], [2.0, 2.05, 2.1], [6.1, 6.2, 5.9])
    assert r["C2a"].verdict == "not reproduced" and r["C2b"].verdict == "reproduced"
    assert V.agrees("C2b", "reproduced") is False and V.agrees("C2a", "inconclusive") is None


def test_c3a_c3b_c4_c1_orientation():
    assert V.c3a([2.0, 2.2, 2.1], [4.0, 4.5, 4.1]).verdict == "reproduced"     # IMP narrower
    assert V.c3a([4.0, 4.5, 4.1], [2.0, 2.2, 2.1]).verdict == "opposite"
    # light tails count as distance: 2.0 is further from 3 than 2.8
    assert V.c3b([2.0, 2.1, 1.9], [2.8, 2.9, 2.85]).verdict == "reproduced"
    assert V.c3b([4.0, 4.02, 3.99], [2.0, 1.99, 2.01]).verdict == "not reproduced"  # |1| vs |1|: no gap
    assert V.c4([1.0, 0.9, 0.95], [0.6, 0.55, 0.62]).verdict == "reproduced"
    assert V.c1([3.0, 3.2, 3.1], [1.0, 1.05, 0.95]).verdict == "reproduced"
    assert V.claim_effect("C3b", [1.0, 1.2], [0.0, 0.1]).delta == V.CLAIMS["C3b"].delta


# ------------------------------------------------------------------------------------------------
# calibration: the rule's false-positive rates, and a rule that cannot fail does fail it
# ------------------------------------------------------------------------------------------------
def test_vectorised_rule_agrees_with_the_scalar_functions():
    rng = np.random.default_rng(3)
    for paired in (True, False):
        for n in (2, 3, 5):
            a, b = rng.normal(0.5, 1.5, (200, n)), rng.normal(0, 1.5, (200, n))
            vec = V.vectorised_rule(1.0, paired)(a, b)
            scal = [V.judge_pair(x, y, 1.0, paired).verdict for x, y in zip(a, b)]
            assert list(vec) == scal


def test_calibration_false_positive_rates_are_at_most_alpha_plus_mc_error():
    rows = V.calibrate(sets=10_000, seeds=(3, 5), pools={"C4": np.array([0.1, -0.1, 0.2, -0.2, 0.0])})
    assert {(r.rule, r.null, r.seeds) for r in rows} >= {(k, n, s) for k in V.CLAIMS for n in ("normal", "student-t3")
                                                         for s in (3, 5)}
    assert any(r.null == "resampled" and r.rule == "C4" for r in rows)
    bad = [r for r in rows if not r.ok]
    assert not bad, V.calibration_table(bad)
    assert all(r.bound == pytest.approx(0.05 + 3 * math.sqrt(0.05 * 0.95 / 10_000)) for r in rows)


def test_calibration_catches_rules_that_cannot_fail():
    always = lambda a, b: np.full(a.shape[0], V.REPRODUCED, dtype=object)  # noqa: E731
    means_only = lambda a, b: np.where(a.mean(1) > b.mean(1), V.REPRODUCED, V.NOT_REPRODUCED)  # noqa: E731
    rows = V.calibrate({"always": (always, 1.0, True), "means": (means_only, 1.0, True)}, sets=2000)
    assert rows and not any(r.ok for r in rows)
    # the old rule (seed ranges separate) at 2 seeds also fails: one time in six by chance
    ranges = lambda a, b: np.where(a.min(1) > b.max(1), V.REPRODUCED, V.NOT_REPRODUCED)  # noqa: E731
    assert not all(r.ok for r in V.calibrate({"ranges": (ranges, 1.0, False)}, sets=4000, seeds=(2,)))


def test_calibrate_command_resamples_the_recorded_nulls(capsys):
    """The default reads the committed null runs (the Gaussian field at least) and their resampled null passes."""
    from impkit.scale import null_pools

    pools = null_pools()
    assert {"C2b", "C3a", "C3b", "C4"} <= set(pools), sorted(pools)
    assert V.main(["calibrate", "--sets", "2000", "--seeds", "3", "5"]) == 0
    out = capsys.readouterr().out
    assert "resampled" in out.split("resampled from the recorded")[0] and "dose-p1" not in out  # rows name the rule
    rows = V.calibrate(sets=10_000, seeds=(3, 5), pools=pools)
    assert all(r.ok for r in rows if r.null == "resampled"), V.calibration_table(rows)


def test_calibrate_command(capsys):
    assert V.main(["calibrate", "--sets", "2000", "--seeds", "3", "--recorded", "none"]) == 0
    out = capsys.readouterr().out
    assert "C2a" in out and "student-t3" in out and "NO" not in out.split("resampled from the recorded")[0].split()[7:]


# ------------------------------------------------------------------------------------------------
# C4's descriptive pieces
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


# ------------------------------------------------------------------------------------------------
# the proposal, the scale study and the dose response
# ------------------------------------------------------------------------------------------------
def test_proposal_judges_locality_against_imp_and_reports_accuracy():
    p = V.proposal([1.5, 1.6, 1.4], [3.0, 3.1, 2.9], [0.800, 0.803, 0.799], [0.80, 0.80, 0.80])
    assert p.verdict == "reproduced" and p.locality.mean == pytest.approx(1.5)
    assert p.accuracy.verdict == "not reproduced"  # within a point of IMP
    curves = np.array([[1.0, 1.6, 2.0], [1.0, 1.4, 2.0]])
    q = V.proposal([3.0, 3.1], [3.0, 3.05], [0.7, 0.7], [0.8, 0.8], li_method=curves, li_imp=curves + [0, 0, 0],
                   rounds=np.array([0, 1, 2]))
    assert q.first_local == 1 and q.first_local_imp == 1 and q.first_detected is None


def test_scale_trend_lists_rungs_by_verdict_and_judges_the_change():
    t = V.scale_trend(["a", "b", "c", "d"], ["inconclusive", "reproduced", "undefined", "reproduced"],
                      base=[0.1, 0.2, 0.15], top=[2.5, 2.6, 2.4], delta=1.0)
    assert t.reproduced == ["b", "d"] and t.by_verdict["inconclusive"] == ["a"] and t.first_reproduced == "b"
    assert t.change.verdict == "reproduced"   # the effect grows by more than δ
    flat = V.scale_trend(["a"], ["not reproduced"], base=[0.1, 0.2, 0.15], top=[0.12, 0.18, 0.2], delta=1.0)
    assert flat.first_reproduced is None and flat.change.verdict == "not reproduced"


def test_dose_answers():
    a = V.dose_answers([2.0, 2.2, 2.1], [6.0, 6.1, 5.9], [5.0, 5.5, 5.2],
                       [[3.0, 4.0], [3.1, 4.2], [3.0, 4.1]], [[3.0, 3.2], [3.1, 3.3], [3.0, 3.1]])
    assert a.localises.verdict == "reproduced" and a.data_over_clone.verdict == "reproduced"
    assert a.kurt_above_3.verdict == "reproduced" and a.kurt_rises.verdict == "reproduced"
    assert a.kurt_over_oneshot.verdict == "reproduced"
    b = V.dose_answers([6.0, 6.1, 5.9], [6.0, 6.1, 5.9], [6.0, 6.2, 5.8],
                       [[3.0, 3.0], [3.0, 3.01], [3.0, 2.99]], [[3.0, 3.0], [3.0, 3.0], [3.0, 3.01]])
    assert b.localises.verdict == "not reproduced" and b.kurt_above_3.verdict == "not reproduced"


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
