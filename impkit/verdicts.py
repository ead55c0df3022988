"""Verdicts on the paper's claims: one primary statistic per claim, a margin, an interval over seeds, a rule.

Every claim page ends with a verdict computed here, so that the rules are stated once, tested, and calibrated
(:func:`calibrate`, ``python -m impkit.verdicts calibrate``).

**The rule** (:func:`decide`). Each claim has one primary statistic, declared with its margin δ — the smallest
effect that matters — before any result (:data:`CLAIMS`; the methods page lists them). Per seed the claim's
*effect* is computed (a difference of the statistic between two conditions, paired by seed where the conditions
share round 0, so that a seed's shared dense network cancels; Welch's unpaired difference otherwise), oriented so
that a positive effect is what the paper claims. With the t-interval over seeds,

* *reproduced* if the one-sided 95 % lower bound lies above +δ;
* *opposite* if the one-sided 95 % upper bound lies below −δ;
* *not reproduced* if the two-sided 90 % interval lies within ±δ (an equivalence test: the effect is absent);
* *inconclusive* otherwise — too few seeds or too much spread to say either way.

The one-sided 95 % bounds are the ends of the two-sided 90 % interval, so one interval decides all four. Without
a finite value the verdict is *undefined*; with one seed it is *inconclusive* (no interval). :func:`mde` is the
smallest true effect this many seeds, at the spread observed, can call reproduced.

Robustness measures (detection rate, width over detected units, locality index) get the same interval beside the
primary one (:data:`ROBUSTNESS_DELTAS`); they do not vote.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import stats
from scipy.stats import spearmanr

from impkit.conditions import Condition

# ------------------------------------------------------------------------------------------------
# vocabulary
# ------------------------------------------------------------------------------------------------
REPRODUCED = "reproduced"
OPPOSITE = "opposite"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
UNDEFINED = "undefined"
VERDICTS = (REPRODUCED, OPPOSITE, NOT_REPRODUCED, INCONCLUSIVE, UNDEFINED)
ALPHA = 0.05  # one-sided level of each bound (the two-sided interval is 1 − 2α = 90 %)

# the conditions the claims compare
IMP, ONESHOT, RANDOM = Condition("imp"), Condition("oneshot"), Condition("random")
IMP_CLONE, RANDOM_CLONE = Condition("imp", clone=True), Condition("random", clone=True)
GAUSSIAN_KURTOSIS = 3.0


def summarize(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Per-seed values (seeds,) -> {"mean", "min", "max", "n"} over the finite ones (NaN where there are none)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    nan = float("nan")
    return {"mean": float(v.mean()) if v.size else nan, "min": float(v.min()) if v.size else nan,
            "max": float(v.max()) if v.size else nan, "n": int(v.size)}


# ------------------------------------------------------------------------------------------------
# the rule
# ------------------------------------------------------------------------------------------------
def decide(lo, hi, delta: float):
    """The verdict from the two-sided (1 − 2α) interval [lo, hi] of an effect and its margin δ > 0 (module
    docstring). Works on scalars or arrays of equal shape (then returns an array of verdict strings); NaN bounds
    give :data:`UNDEFINED`, infinite ones (one seed) :data:`INCONCLUSIVE`."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    out = np.full(np.broadcast(lo, hi).shape, INCONCLUSIVE, dtype=object)
    out[lo > delta] = REPRODUCED
    out[hi < -delta] = OPPOSITE
    out[(lo > -delta) & (hi < delta)] = NOT_REPRODUCED
    out[np.isnan(lo) | np.isnan(hi)] = UNDEFINED
    return out.item() if out.ndim == 0 else out


@dataclass(frozen=True)
class Effect:
    """One effect over seeds and its verdict.

    ``mean``: the effect (mean over seeds of the per-seed effect, or the difference of means when unpaired);
    ``lo``/``hi``: its two-sided 90 % t-interval (= the one-sided 95 % bounds); ``delta``: the margin; ``n``:
    seeds (of the smaller side when unpaired); ``se``/``df``: standard error and degrees of freedom; ``mde``: the
    smallest true effect these seeds at this spread can call reproduced, δ + t·se; ``values``: the per-seed
    effects (paired) or empty (unpaired).
    """

    verdict: str
    mean: float
    lo: float
    hi: float
    delta: float
    n: int
    se: float
    df: float
    mde: float
    values: tuple = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["values"] = list(self.values)
        return d

    @property
    def text(self) -> str:
        """``"+1.23 [0.80, 1.66], δ = 1"``: the effect, its 90 % interval and the margin, for tables and prose."""
        return f"{self.mean:+.3g} [{self.lo:.3g}, {self.hi:.3g}], δ = {self.delta:g}"


def _nan_effect(delta: float, n: int = 0, values: tuple = ()) -> Effect:
    nan = float("nan")
    return Effect(UNDEFINED, nan, nan, nan, float(delta), n, nan, nan, nan, values)


def _from_interval(mean: float, se: float, df: float, n: int, delta: float, alpha: float,
                   values: tuple = ()) -> Effect:
    if n < 2 or not np.isfinite(se):
        inf = float("inf")
        return Effect(INCONCLUSIVE, mean, -inf, inf, float(delta), n, float("nan"), float("nan"), inf, values)
    t = float(stats.t.ppf(1 - alpha, df))
    lo, hi = mean - t * se, mean + t * se
    return Effect(decide(lo, hi, delta), float(mean), float(lo), float(hi), float(delta), int(n), float(se),
                  float(df), float(delta + t * se), values)


def judge(values: Sequence[float] | np.ndarray, delta: float, alpha: float = ALPHA) -> Effect:
    """The verdict on per-seed effects ``values`` (seeds,) (non-finite seeds left out) with margin ``delta``:
    one-sample t-interval of their mean (:func:`decide`)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return _nan_effect(delta)
    n = int(v.size)
    se = float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return _from_interval(float(v.mean()), se, n - 1, n, delta, alpha, tuple(float(x) for x in v))


def judge_paired(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, delta: float,
                 alpha: float = ALPHA) -> Effect:
    """:func:`judge` of the per-seed differences ``a − b`` (seeds,), seeds aligned (a seed missing on either side is
    left out)."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired effect needs one value per seed on both sides, got {a.shape} and {b.shape}")
    return judge(a - b, delta, alpha)


def judge_unpaired(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, delta: float,
                   alpha: float = ALPHA) -> Effect:
    """The verdict on ``mean(a) − mean(b)`` for conditions that share no seed-level randomness (e.g. data vs clone:
    different inputs from round 0 on): Welch's interval with Satterthwaite's degrees of freedom."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return _nan_effect(delta)
    n = int(min(a.size, b.size))
    mean = float(a.mean() - b.mean())
    if n < 2:
        return _from_interval(mean, float("nan"), float("nan"), n, delta, alpha)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = va + vb
    df = se2 ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1)) if se2 > 0 else float(a.size + b.size - 2)
    return _from_interval(mean, float(np.sqrt(se2)), float(df), n, delta, alpha)


def judge_pair(a, b, delta: float, paired: bool, alpha: float = ALPHA) -> Effect:
    """:func:`judge_paired` or :func:`judge_unpaired` of ``a − b``."""
    return (judge_paired if paired else judge_unpaired)(a, b, delta, alpha)


def mde(se: float, df: float, delta: float, alpha: float = ALPHA) -> float:
    """The smallest true effect that seeds with standard error ``se`` (``df`` degrees of freedom) call reproduced
    when the estimate hits it: δ + t_{1−α, df} · se."""
    return float(delta + stats.t.ppf(1 - alpha, df) * se)


def in_words(verdict: str, up: str = "larger", down: str = "smaller") -> str:
    """A verdict on a difference, in words for prose: *reproduced* -> ``up`` (by more than δ), *opposite* ->
    ``down``, *not reproduced* -> "the same within δ", *inconclusive* -> "undecided", *undefined* -> "undefined"."""
    return {REPRODUCED: f"{up} by more than δ", OPPOSITE: f"{down} by more than δ",
            NOT_REPRODUCED: "the same within δ", INCONCLUSIVE: "undecided"}.get(verdict, UNDEFINED)


# ------------------------------------------------------------------------------------------------
# the claims: one primary statistic each, its margin, declared before the results
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """One claim's primary test: ``effect`` says what a positive effect is, ``unit`` its unit, ``delta`` the
    margin, ``paired`` whether seeds pair the two sides, ``expected`` the verdict the paper's claim predicts,
    ``why_delta`` the reason for the margin."""

    key: str
    title: str
    effect: str
    unit: str
    delta: float
    paired: bool
    expected: str = REPRODUCED
    why_delta: str = ""


WIDTH_DELTA = 1.0  # px: the resolution of the measure (widths are fitted on a pixel grid)
CLAIMS: dict[str, Claim] = {c.key: c for c in (
    Claim("C1", "ICA filters are local, PCA filters are not",
          "median best-window energy ratio ICA/PCA on the patches minus the same ratio on a Gaussian with the "
          "patches' covariance", "ratio", 0.5, True,
          why_delta="ICA must concentrate half as much energy again as PCA beyond what it finds in a Gaussian"),
    Claim("C2a", "IMP's receptive fields are narrower on the data than on its Gaussian clone",
          "σx of IMP on the clone minus on the data (median over units, the paper's Fig. 3C)", "px", WIDTH_DELTA,
          False, why_delta="one pixel, the grid the widths are fitted on"),
    Claim("C2b", "on the clone, IMP's receptive fields are narrower than random masks' (the paper: no)",
          "σx of random masks minus IMP's, both on the clone (median over units)", "px", WIDTH_DELTA, True,
          expected=NOT_REPRODUCED, why_delta="one pixel, the grid the widths are fitted on"),
    Claim("C3a", "IMP's receptive fields are narrower than one-shot pruning's",
          "σx of one-shot minus IMP (mean over units, the paper's Fig. 4A)", "px", WIDTH_DELTA, True,
          why_delta="one pixel, the grid the widths are fitted on"),
    Claim("C3b", "IMP's first-layer preactivations are further from Gaussian than one-shot's",
          "|κ − 3| of IMP minus one-shot, per-class kurtosis at θ(t_rewind) ⊙ m(n−1)", "kurtosis", 0.1, True,
          why_delta="a tenth of the unit-variance scale of kurtosis; per-class estimates from ~10⁴ rows have a "
                    "standard error of a few hundredths"),
    Claim("C4", "cavity scores turn positive just before IMP removes a weight",
          "share of fate groups with a positive mean cavity score the round before their removal, minus the same "
          "share with fates shuffled within bins of |θ(t_rewind)|", "share", 0.1, True,
          why_delta="one fate group in ten"),
)}
# robustness measures: (larger value = more local, margin); they are shown beside the primary one, never vote
ROBUSTNESS_DELTAS = {"detection rate": (True, 0.05), "width (detected units)": (False, WIDTH_DELTA),
                     "locality index": (True, 0.1)}


def claim_effect(key: str, a, b, alpha: float = ALPHA) -> Effect:
    """The primary effect of claim ``key`` (a key of :data:`CLAIMS`) from its two sides, per seed: the effect is
    ``a − b``, paired or not as the claim declares."""
    c = CLAIMS[key]
    return judge_pair(a, b, c.delta, c.paired, alpha)


def agrees(key: str, verdict: str) -> bool | None:
    """Whether ``verdict`` is what the paper's claim ``key`` predicts (None where inconclusive or undefined)."""
    if verdict in (INCONCLUSIVE, UNDEFINED):
        return None
    return verdict == CLAIMS[key].expected


# ------------------------------------------------------------------------------------------------
# each claim from its per-seed statistics
# ------------------------------------------------------------------------------------------------
def c1(ratio_patches, ratio_gaussian) -> Effect:
    """C1 from the median best-window energy ratio ICA/PCA per seed (seeds,) on the patches and on the Gaussian
    null with their covariance (same seeds: the same ICA initialisation)."""
    return claim_effect("C1", ratio_patches, ratio_gaussian)


def c2(width_imp_data, width_imp_clone, width_random_clone) -> dict[str, Effect]:
    """C2's two named parts from the median σx over units per seed (seeds,) at one round: ``"C2a"`` clone minus
    data (unpaired: the data and the clone share nothing from round 0), ``"C2b"`` random minus IMP, both on the
    clone (paired by seed)."""
    return {"C2a": claim_effect("C2a", width_imp_clone, width_imp_data),
            "C2b": claim_effect("C2b", width_random_clone, width_imp_clone)}


def c3a(width_imp, width_oneshot) -> Effect:
    """C3a from the mean σx over units per seed (seeds,): one-shot minus IMP, paired (round 0 is shared)."""
    return claim_effect("C3a", width_oneshot, width_imp)


def nongaussianity(kurtosis) -> np.ndarray:
    """|κ − 3| elementwise: the distance of a kurtosis from the Gaussian value (light tails count as heavy ones)."""
    return np.abs(np.asarray(kurtosis, dtype=float) - GAUSSIAN_KURTOSIS)


def c3b(kurt_imp, kurt_oneshot) -> Effect:
    """C3b from the per-class preactivation kurtosis per seed (seeds,) at one round: |κ_IMP − 3| − |κ_one-shot − 3|,
    paired."""
    return claim_effect("C3b", nongaussianity(kurt_imp), nongaussianity(kurt_oneshot))


def c4(share_on_time, share_shuffled) -> Effect:
    """C4 from, per seed (seeds,), the share of fate groups positive just before removal and the same share under
    the magnitude-binned fate shuffle (:func:`impkit.metrics.cavity.shuffled_on_time_share`), paired."""
    return claim_effect("C4", share_on_time, share_shuffled)


# ------------------------------------------------------------------------------------------------
# C4 · descriptive pieces (the round-0 fate trend of Fig 5B, the just-in-time count of Fig 5C)
# ------------------------------------------------------------------------------------------------
C4_EARLY = (1, 2)       # fates (rounds of removal) of the "early" group of Fig 5B
C4_LATE_FROM = 4        # first fate of the "late" group (up to, not including, "never")


def c4_just_in_time(over: np.ndarray, over_fates: np.ndarray, never: int) -> tuple[int, int]:
    """(hits, total): of the fate groups f with 1 <= f < ``never`` that were scored after round f − 1, how many
    have a positive mean score then (``over[f - 1, j] > 0``).

    ``over``: (scoring rounds, F) mean rescored cavity score per fate group (NaN: no survivors), ``over_fates``:
    (F,) the groups' fates, ``never``: the fate of weights never removed.
    """
    hits, total = 0, 0
    for j, f in enumerate(over_fates):
        if f < 1 or f >= never or f - 1 >= over.shape[0]:
            continue
        total += 1
        hits += bool(over[f - 1, j] > 0)
    return hits, total


@dataclass(frozen=True)
class FateTrend:
    """Round-0 cavity scores against fate: ``early`` / ``late`` the mean score of the weights removed in rounds
    1–2 / from round 4 on (NaN-aware means of the per-fate means); ``rho`` / ``rho_sign`` the Spearman correlation
    with fate of the per-fate mean score / share of positive scores, over the weights that are ever removed."""

    early: float
    late: float
    rho: float
    rho_sign: float


def c4_fate_trend(fates: np.ndarray, mean_score: np.ndarray, share_positive: np.ndarray, never: int) -> FateTrend:
    """:class:`FateTrend` from the per-fate round-0 statistics (F,) (``fates`` the groups' fates; ``never`` the fate
    of weights never removed)."""
    fates = np.asarray(fates)
    mean_score, share_positive = np.asarray(mean_score), np.asarray(share_positive)
    pruned = (fates >= 1) & (fates < never)
    rho = float(spearmanr(fates[pruned], mean_score[pruned]).statistic)  # < 0: earlier-pruned weights score higher
    rho_sign = float(spearmanr(fates[pruned], share_positive[pruned]).statistic)  # the same, magnitude-free
    def nanmean(v: np.ndarray) -> float:  # NaN without a warning when no group is there
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")

    early = nanmean(mean_score[(fates >= C4_EARLY[0]) & (fates <= C4_EARLY[1])])
    late = nanmean(mean_score[(fates >= C4_LATE_FROM) & (fates < never)])
    return FateTrend(early, late, rho, rho_sign)



def first_round_at_least(values, rounds, threshold: float) -> int | None:
    """The first round whose mean over seeds reaches ``threshold``, or None if none does.

    ``values``: (seeds, R) per seed and round (NaN seeds left out of a round's mean; a round with no finite value
    never qualifies); ``rounds``: (R,) the round numbers, ascending.
    """
    v = np.asarray(values, dtype=float).reshape(-1, len(rounds))
    for i, r in enumerate(rounds):
        col = v[:, i][np.isfinite(v[:, i])]
        if col.size and col.mean() >= threshold:
            return int(r)
    return None


def _round_means(values, n_rounds: int) -> np.ndarray:
    """(R,) mean over seeds of (seeds, R) values, NaN seeds left out (NaN where no seed has a value)."""
    v = np.asarray(values, dtype=float).reshape(-1, n_rounds)
    ok = np.isfinite(v)
    return np.where(ok.any(0), np.where(ok, v, 0.0).sum(0) / np.maximum(ok.sum(0), 1), np.nan)


def rounds_ahead(values, reference, rounds) -> list[int]:
    """The rounds at which the mean over seeds of ``values`` (seeds, R) exceeds that of ``reference`` (seeds', R)
    (rounds aligned; a round where either mean is undefined does not count)."""
    a, b = _round_means(values, len(rounds)), _round_means(reference, len(rounds))
    return [int(r) for r, x, y in zip(rounds, a, b) if np.isfinite(x) and np.isfinite(y) and x > y]


def peak(values, rounds) -> tuple[int | None, float]:
    """(round, value) of the largest mean over seeds of ``values`` (seeds, R); the earliest round on ties;
    (None, NaN) if no round has a value."""
    m = _round_means(values, len(rounds))
    if not np.isfinite(m).any():
        return None, float("nan")
    i = int(np.nanargmax(m))
    return int(rounds[i]), float(m[i])



def c4_share(over: np.ndarray, over_fates: np.ndarray, never: int) -> float:
    """hits / total of :func:`c4_just_in_time` (NaN without a scored group)."""
    hits, total = c4_just_in_time(over, over_fates, never)
    return hits / total if total else float("nan")


# ------------------------------------------------------------------------------------------------
# the paper's proposal: cavity-guided pruning against IMP (notebook 07)
# ------------------------------------------------------------------------------------------------
LOCAL_LI = 1.5           # "local" masks, for the descriptive first-local round: mean locality index >= 1.5
LOCAL_DETECTION = 0.25   # ... or >= 25 % of units with a detected local peak (random masks: <= 5 %)
ACCURACY_DELTA = 0.01    # an accuracy difference within one point (fraction 0.01) is no difference


@dataclass(frozen=True)
class ProposalResult:
    """One method against IMP at the last round: ``locality`` the effect σx(IMP) − σx(method) (mean over units,
    paired; positive: the method more local), its ``verdict``; ``accuracy`` the effect acc(method) − acc(IMP)
    (paired, margin :data:`ACCURACY_DELTA`); the first rounds at which each becomes local (descriptive)."""

    verdict: str
    locality: Effect
    accuracy: Effect
    first_local: int | None
    first_local_imp: int | None
    first_detected: int | None
    first_detected_imp: int | None


def proposal(width_method, width_imp, acc_method, acc_imp, li_method=None, li_imp=None, det_method=None,
             det_imp=None, rounds=None) -> ProposalResult:
    """Is cavity-guided pruning more local than IMP? Per-seed last-round mean σx (seeds,) and accuracies (seeds,);
    optional (seeds, R) locality-index and detection curves over ``rounds`` give the descriptive first-local
    rounds."""
    loc = judge_paired(width_imp, width_method, WIDTH_DELTA)
    acc = judge_paired(acc_method, acc_imp, ACCURACY_DELTA)

    def first(curve, thr):
        return None if curve is None or rounds is None else first_round_at_least(curve, rounds, thr)

    return ProposalResult(loc.verdict, loc, acc, first(li_method, LOCAL_LI), first(li_imp, LOCAL_LI),
                          first(det_method, LOCAL_DETECTION), first(det_imp, LOCAL_DETECTION))


# ------------------------------------------------------------------------------------------------
# the scale study: one claim across the rungs (notebook 08) and the dose points (notebook 09)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScaleTrend:
    """One claim across rungs: the rungs under each verdict (names, ladder order), the first rung where it is
    reproduced (None: nowhere), and the change of its effect from the ``base`` rung to the ``top`` rung
    (:func:`judge_unpaired` of top − base with the claim's margin: *reproduced* = the effect grows)."""

    by_verdict: dict
    first_reproduced: str | None
    change: Effect

    @property
    def reproduced(self) -> list[str]:
        return self.by_verdict[REPRODUCED]


def scale_trend(names: Sequence[str], claim_verdicts: Sequence[str], base, top, delta: float) -> ScaleTrend:
    """A claim across rungs ``names`` (ladder order) with its verdict at each, and the per-seed effect (seeds,) at
    the smallest (``base``) and largest (``top``) rung of one task, judged with margin ``delta``."""
    by = {v: [n for n, x in zip(names, claim_verdicts) if x == v] for v in VERDICTS}
    first = by[REPRODUCED][0] if by[REPRODUCED] else None
    return ScaleTrend(by, first, judge_unpaired(top, base, delta))


@dataclass(frozen=True)
class DoseAnswers:
    """The dose-response questions at one input distribution (notebook 09), each an :class:`Effect`:
    ``localises`` (σx of random minus IMP on the data, paired), ``data_over_clone`` (C2a), ``kurt_above_3``
    (IMP's per-class kurtosis at the last round minus 3), ``kurt_rises`` (minus its round-0 value, paired),
    ``kurt_over_oneshot`` (C3b)."""

    localises: Effect
    data_over_clone: Effect
    kurt_above_3: Effect
    kurt_rises: Effect
    kurt_over_oneshot: Effect


def dose_answers(width_imp, width_random, width_clone, kurt_imp, kurt_oneshot) -> DoseAnswers:
    """:class:`DoseAnswers` from per-seed median σx (seeds,) at the last round (IMP and random on the data, IMP on
    the clone) and the per-class kurtosis (seeds, R) per round (round 0 first) of IMP and one-shot."""
    ki, ko = np.asarray(kurt_imp, dtype=float), np.asarray(kurt_oneshot, dtype=float)
    kd = CLAIMS["C3b"].delta
    return DoseAnswers(judge_paired(width_random, width_imp, WIDTH_DELTA),
                       claim_effect("C2a", width_clone, width_imp),
                       judge(ki[:, -1] - GAUSSIAN_KURTOSIS, kd), judge_paired(ki[:, -1], ki[:, 0], kd),
                       c3b(ki[:, -1], ko[:, -1]))


# ------------------------------------------------------------------------------------------------
# calibration: how often each rule says "reproduced" or "opposite" when there is nothing to find
# ------------------------------------------------------------------------------------------------
CALIBRATION_SETS = 10_000
CALIBRATION_SEEDS = (3, 5)
# null effects are drawn with this spread relative to the margin: the false-positive rate of the rule is largest
# when the spread is large against δ (it tends to α from below), so a spread of 3 δ probes the hard case
CALIBRATION_SPREAD = 3.0


@dataclass
class CalibrationRow:
    """One rule × null distribution × seed count: the rates of *reproduced* and *opposite* over ``sets`` null data
    sets, and the bound they must stay under (α plus three Monte Carlo standard errors)."""

    rule: str
    null: str
    seeds: int
    sets: int
    reproduced: float
    opposite: float
    bound: float

    @property
    def ok(self) -> bool:
        return self.reproduced <= self.bound and self.opposite <= self.bound


Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]


def vectorised_rule(delta: float, paired: bool, alpha: float = ALPHA) -> Rule:
    """The rule of :func:`judge_paired` / :func:`judge_unpaired` on many data sets at once: ``(a, b)`` of shape
    (sets, seeds) -> (sets,) verdict strings. Tested to agree with the scalar functions."""
    t_cache: dict[float, float] = {}

    def rule(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        n = a.shape[1]
        if paired:
            d = a - b
            mean, se = d.mean(1), d.std(1, ddof=1) / np.sqrt(n)
            if n - 1 not in t_cache:
                t_cache[n - 1] = float(stats.t.ppf(1 - alpha, n - 1))
            t = t_cache[n - 1]
        else:
            va, vb = a.var(1, ddof=1) / n, b.var(1, ddof=1) / n
            se2 = va + vb
            df = np.where(se2 > 0, se2 ** 2 / np.maximum(va ** 2 / (n - 1) + vb ** 2 / (n - 1), 1e-300), 2 * n - 2)
            mean, se = a.mean(1) - b.mean(1), np.sqrt(se2)
            t = stats.t.ppf(1 - alpha, df)
        return decide(mean - t * se, mean + t * se, delta)

    return rule


def _null_draws(kind: str, rng: np.random.Generator, sets: int, n: int, scale: float,
                pool: np.ndarray | None) -> np.ndarray:
    if kind == "normal":
        return rng.normal(0.0, scale, (sets, n))
    if kind == "student-t3":
        return scale * rng.standard_t(3, (sets, n))
    if kind == "resampled":  # per-seed values of recorded null runs, resampled with replacement
        return rng.choice(np.asarray(pool, dtype=float), size=(sets, n), replace=True)
    raise ValueError(f"unknown null distribution {kind!r}")


def calibrate(rules: Mapping[str, tuple[Rule, float, bool]] | None = None, sets: int = CALIBRATION_SETS,
              seeds: Sequence[int] = CALIBRATION_SEEDS, pools: Mapping[str, np.ndarray] | None = None,
              seed: int = 0) -> list[CalibrationRow]:
    """False-positive rates of each rule on null data sets.

    ``rules``: name -> (rule, δ, paired) (default: every claim of :data:`CLAIMS` with :func:`vectorised_rule`).
    For every seed count in ``seeds`` draws ``sets`` data sets with no true effect: both sides from one normal, one
    Student-t with 3 degrees of freedom (spread :data:`CALIBRATION_SPREAD` · δ), and, where ``pools`` has per-seed
    values of recorded null runs for the rule, resampled from them (paired rules: resampled *effects* as side a, 0
    as side b; unpaired: both sides from the pool). Returns one :class:`CalibrationRow` per rule × null × seeds.
    """
    rng = np.random.default_rng(seed)
    if rules is None:
        rules = {k: (vectorised_rule(c.delta, c.paired), c.delta, c.paired) for k, c in CLAIMS.items()}
    pools = dict(pools or {})
    bound = ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / sets)
    rows = []
    for name, (rule, delta, paired) in rules.items():
        nulls = ["normal", "student-t3"] + (["resampled"] if name in pools and len(pools[name]) else [])
        for kind in nulls:
            for n in seeds:
                pool = pools.get(name)
                scale = CALIBRATION_SPREAD * delta
                if kind == "resampled" and paired:
                    a, b = _null_draws(kind, rng, sets, n, scale, pool), np.zeros((sets, n))
                else:
                    a, b = (_null_draws(kind, rng, sets, n, scale, pool) for _ in range(2))
                v = np.asarray(rule(a, b))
                rows.append(CalibrationRow(name, kind, n, sets, float((v == REPRODUCED).mean()),
                                           float((v == OPPOSITE).mean()), float(bound)))
    return rows


def calibration_table(rows: Sequence[CalibrationRow]) -> str:
    """The calibration as a plain-text table (one line per rule × null × seeds)."""
    lines = [f"{'rule':6} {'null':11} {'seeds':>5} {'sets':>6} {'reproduced':>10} {'opposite':>9} {'bound':>6}  ok"]
    for r in rows:
        lines.append(f"{r.rule:6} {r.null:11} {r.seeds:5d} {r.sets:6d} {r.reproduced:10.4f} {r.opposite:9.4f} "
                     f"{r.bound:6.4f}  {'yes' if r.ok else 'NO'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m impkit.verdicts calibrate [--sets N] [--seeds 3 5] [--recorded DIR]``: print each rule's rate
    of *reproduced* and *opposite* on null data sets; exit 1 if any exceeds its bound."""
    p = argparse.ArgumentParser(prog="python -m impkit.verdicts", description=main.__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    cal = sub.add_parser("calibrate", help="false-positive rates of every claim's rule on null data sets")
    cal.add_argument("--sets", type=int, default=CALIBRATION_SETS, help="null data sets per row (default 10,000)")
    cal.add_argument("--seeds", type=int, nargs="+", default=list(CALIBRATION_SEEDS), help="seed counts (3 5)")
    cal.add_argument("--recorded", default=None,
                     help="directory of recorded summaries whose null runs to resample (default: book/recorded/"
                          "scale); 'none' for the parametric nulls only")
    a = p.parse_args(argv)
    if a.sets < 100 or any(s < 2 for s in a.seeds):
        p.error("--sets must be at least 100 and every --seeds count at least 2")
    pools = {}
    if a.recorded != "none":
        from impkit.scale import null_pools
        pools = null_pools() if a.recorded is None else null_pools(a.recorded)
    rows = calibrate(sets=a.sets, seeds=a.seeds, pools=pools)
    print(calibration_table(rows))
    print(f"\nresampled from the recorded null runs for: {', '.join(sorted(pools)) or 'none'}")
    return 0 if all(r.ok for r in rows) else 1


# ------------------------------------------------------------------------------------------------
# the appendix: does the screen still rank the preset's task first?
# ------------------------------------------------------------------------------------------------
MAX_DENSE_ACCURACY = 0.99   # a task solved (nearly) perfectly says little: nothing needs to localise
MIN_ACCURACY_SHARE = 0.25   # ... nor one the dense network barely learns: a quarter of the way from chance to 1


@dataclass
class ChoiceResult:
    """The screen's decision: ``best`` candidate, the ``ranking`` (best first) of the qualifying candidates,
    ``qualifies`` per candidate, and where the preset's task (``preset_task``, the first candidate) stands."""

    best: str
    preset_task: str
    ranking: list[str]
    qualifies: dict[str, bool]

    @property
    def preset_is_best(self) -> bool:
        return self.best == self.preset_task

    @property
    def preset_rank(self) -> int | None:
        """1-based rank of the preset's task among the qualifying candidates (None: it does not qualify)."""
        return self.ranking.index(self.preset_task) + 1 if self.preset_task in self.ranking else None

    @property
    def preset_standing(self) -> str:
        """``"first of 8 qualifying candidates"``, ``"third of 8 ..."``, or ``"not a qualifying candidate"``."""
        r = self.preset_rank
        if r is None:
            return "not a qualifying candidate"
        words = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
        nth = words[r - 1] if r <= len(words) else f"number {r}"
        n = len(self.ranking)
        return f"{nth} of {n} qualifying candidate{'s' if n > 1 else ''}"


def default_choice(names: Sequence[str], classes: Sequence[int], dense_accuracy: Sequence[float],
                   score: Sequence[float]) -> ChoiceResult:
    """The appendix's rule. A candidate qualifies when its dense network's held-out accuracy is below
    :data:`MAX_DENSE_ACCURACY` and more than :data:`MIN_ACCURACY_SHARE` of the way from chance (1/classes) to
    perfect; qualifying candidates are ranked by ``score`` (the detection-rate gap per minute, larger first; NaN
    last), and the best is the first of them (of all candidates if none qualifies). The preset's task is
    ``names[0]``."""
    names = list(names)
    if not names:
        raise ValueError("default_choice: no candidates")
    acc = np.asarray(dense_accuracy, float)
    chance = 1.0 / np.asarray(classes, float)
    ok = (acc < MAX_DENSE_ACCURACY) & (acc > chance + MIN_ACCURACY_SHARE * (1 - chance))
    sc = np.asarray(score, float)
    order = sorted(range(len(names)), key=lambda i: (not np.isfinite(sc[i]), -sc[i] if np.isfinite(sc[i]) else 0, i))
    ranking = [names[i] for i in order if ok[i]]
    best = ranking[0] if ranking else names[order[0]]
    return ChoiceResult(best=best, preset_task=names[0], ranking=ranking,
                        qualifies={n: bool(q) for n, q in zip(names, ok)})


if __name__ == "__main__":
    sys.exit(main())
