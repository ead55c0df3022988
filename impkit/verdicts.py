"""Verdicts on the paper's claims: the vocabulary, how two conditions are compared, and each claim's rule.

Every claim page ends with a verdict computed here, so that the rules are stated once and tested:

* :func:`c1` — C1, ICA filters local and heavy-tailed, PCA filters not (notebook 01);
* :func:`locality` — C2 (IMP more local on the data than on its Gaussian clone, clone masks no more local than
  random) and C3 (IMP more local than one-shot, one-shot than random), each judged in three locality measures and
  combined (notebook 04);
* :func:`c3_kurtosis` — the kurtosis half of C3: IMP further from Gaussian than one-shot, the gap growing
  (notebook 05);
* :func:`c4` — C4, cavity scores positive just before IMP removes a weight (notebook 06);
* :func:`default_choice` — the appendix: which screened task ranks first, and where the preset's task stands
  (notebook 90).

A verdict is one of :data:`REPRODUCED`, :data:`PARTLY`, :data:`NOT_REPRODUCED`, or :data:`UNDEFINED` (no measure
could be computed). A comparison of two conditions answers :data:`YES` (the seeds' ranges separate in the claimed
direction), :data:`MEAN` (only the means are ordered so), :data:`NO`, or :data:`NA` (a value is undefined).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.stats import spearmanr

from impkit.conditions import Condition

# ------------------------------------------------------------------------------------------------
# vocabulary
# ------------------------------------------------------------------------------------------------
REPRODUCED = "reproduced"
PARTLY = "partly reproduced"
NOT_REPRODUCED = "not reproduced"
UNDEFINED = "undefined"
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, UNDEFINED)

YES = "yes"      # every seed of a is ahead of every seed of b (the ranges separate)
MEAN = "mean"    # only the mean over seeds of a is ahead
NO = "no"        # a is not ahead, not even on average
NA = "n/a"       # a or b has no value (e.g. an undefined RF width)
ANSWERS = (YES, MEAN, NO, NA)

# the conditions the claims compare
IMP, ONESHOT, RANDOM = Condition("imp"), Condition("oneshot"), Condition("random")
IMP_CLONE = Condition("imp", clone=True)

# ------------------------------------------------------------------------------------------------
# comparing two conditions
# ------------------------------------------------------------------------------------------------
Summary = Mapping[str, float]  # {"mean", "min", "max"} over seeds, as analysis.final_summary gives per condition


def summarize(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Per-seed values (seeds,) -> {"mean", "min", "max", "n"} over the finite ones (NaN where there are none).

    The same statistics as :func:`impkit.analysis.final_summary` gives for one condition.
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    nan = float("nan")
    return {"mean": float(v.mean()) if v.size else nan, "min": float(v.min()) if v.size else nan,
            "max": float(v.max()) if v.size else nan, "n": int(v.size)}


def compare_summaries(a: Summary, b: Summary, *, larger: bool) -> str:
    """Whether condition ``a`` is ahead of ``b``, from their mean, min and max over seeds.

    "Ahead" means a larger value when ``larger`` is true (e.g. the locality index), a smaller one otherwise (e.g.
    the RF width). Returns :data:`YES` if the seed ranges separate (a's worst seed beats b's best), :data:`MEAN` if
    only the means are ordered, :data:`NO` otherwise (ties included), :data:`NA` if either mean is not finite.
    """
    if not (np.isfinite(a["mean"]) and np.isfinite(b["mean"])):
        return NA
    if larger:
        return YES if a["min"] > b["max"] else (MEAN if a["mean"] > b["mean"] else NO)
    return YES if a["max"] < b["min"] else (MEAN if a["mean"] < b["mean"] else NO)


def compare(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *, larger: bool) -> str:
    """:func:`compare_summaries` from per-seed values ``a`` (seeds_a,) and ``b`` (seeds_b,); NaN seeds are left out."""
    return compare_summaries(summarize(a), summarize(b), larger=larger)


# ------------------------------------------------------------------------------------------------
# combining
# ------------------------------------------------------------------------------------------------
def verdict_from_parts(*parts: bool) -> str:
    """A claim made of several parts: :data:`REPRODUCED` if every part holds, :data:`PARTLY` if some do,
    :data:`NOT_REPRODUCED` if none does (:data:`UNDEFINED` without parts)."""
    if not parts:
        return UNDEFINED
    if all(parts):
        return REPRODUCED
    return PARTLY if any(parts) else NOT_REPRODUCED


def combine_answers(*answers: str) -> str:
    """Verdict from comparisons (:data:`ANSWERS`) that must all say :data:`YES`.

    Undefined comparisons (:data:`NA`) are left out; :data:`UNDEFINED` if none is left. :data:`REPRODUCED` if all
    the rest are :data:`YES`, :data:`PARTLY` if any is :data:`YES` or :data:`MEAN`, else :data:`NOT_REPRODUCED`.
    """
    return _tally([x for x in answers if x != NA], full=YES, none=NO)


def combine(verdicts: Mapping[str, str] | Iterable[str]) -> str:
    """One claim's verdict from its verdicts in several measures (a mapping measure -> verdict, or the verdicts).

    Measures whose verdict is :data:`UNDEFINED` are left out; :data:`UNDEFINED` if none is left. :data:`REPRODUCED`
    only if every defined measure says so; :data:`PARTLY` if any shows some of the claim; else
    :data:`NOT_REPRODUCED`.
    """
    values = verdicts.values() if isinstance(verdicts, Mapping) else verdicts
    return _tally([x for x in values if x != UNDEFINED], full=REPRODUCED, none=NOT_REPRODUCED)


def _tally(defined: list[str], full: str, none: str) -> str:
    """The rule shared by :func:`combine_answers` and :func:`combine`: :data:`UNDEFINED` without a defined value,
    :data:`REPRODUCED` if every value is ``full``, :data:`PARTLY` if any is not ``none``, else :data:`NOT_REPRODUCED`."""
    if not defined:
        return UNDEFINED
    if all(x == full for x in defined):
        return REPRODUCED
    return PARTLY if any(x != none for x in defined) else NOT_REPRODUCED


# ------------------------------------------------------------------------------------------------
# C1 · ICA local, PCA global (notebook 01)
# ------------------------------------------------------------------------------------------------
C1_MIN_RATIO = 1.5  # ICA filters must keep this many times more energy in their best window than PCA filters


@dataclass(frozen=True)
class C1Result:
    """``ratio``: median ICA / median PCA energy in the best window; ``local``: ratio > the threshold;
    ``heavier``: ICA projections have the larger median kurtosis; ``verdict``: both parts, one, or none."""

    verdict: str
    ratio: float
    local: bool
    heavier: bool


def c1(ica_window: float, pca_window: float, ica_kurtosis: float, pca_kurtosis: float,
       min_ratio: float = C1_MIN_RATIO) -> C1Result:
    """C1 from the medians over filters of the energy in the best window and of the projections' kurtosis.

    Two parts: ICA filters are local (``ica_window / pca_window > min_ratio``) and their projections are heavier
    tailed (``ica_kurtosis > pca_kurtosis``); :func:`verdict_from_parts` of the two. A zero PCA energy gives an
    infinite ratio (NaN if both are zero); NaN inputs fail their part.
    """
    a, b = float(ica_window), float(pca_window)
    ratio = a / b if b != 0 else (float("inf") if a > 0 else float("nan"))
    local = bool(ratio > min_ratio)
    heavier = bool(ica_kurtosis > pca_kurtosis)
    return C1Result(verdict_from_parts(local, heavier), ratio, local, heavier)


# ------------------------------------------------------------------------------------------------
# C2 and C3 · locality of the masks (notebook 04)
# ------------------------------------------------------------------------------------------------
MIN_DETECTION_RATE = 0.10  # at most twice the detection test's 5 % false-positive rate: widths say nothing
# the three locality measures, in the order reported, and whether a larger value means more local
LOCALITY_MEASURES = {"RF width": False, "detection rate": True, "locality index": True}
# the four comparisons: "a vs b" asks whether a is more local than b
LOCALITY_COMPARISONS = {
    "IMP vs one-shot": (IMP, ONESHOT),
    "one-shot vs random": (ONESHOT, RANDOM),
    "IMP data vs clone": (IMP, IMP_CLONE),
    "IMP clone vs random": (IMP_CLONE, RANDOM),
}


def widths_where_detected(widths: Mapping[Condition, Summary], detection: Mapping[Condition, Summary],
                          min_rate: float = MIN_DETECTION_RATE) -> dict[Condition, dict]:
    """The RF-width summaries with mean, min and max set to NaN (undefined) for every condition whose mean
    detection rate is not above ``min_rate``.

    A width is a mean over units with a detected peak; where no more than ``min_rate`` of the units are detected,
    those units are mostly false positives of the test and their width says nothing about the masks. Both
    arguments map conditions to summaries ({"mean", "min", "max", ...}, as :func:`impkit.analysis.final_summary`);
    the result has the keys of ``widths`` in their order.
    """
    nan = float("nan")
    return {k: (dict(v) if detection[k]["mean"] > min_rate else {**v, "mean": nan, "min": nan, "max": nan})
            for k, v in widths.items()}


def locality_checks(summary: Mapping[Condition, Summary], larger_is_local: bool) -> dict[str, str]:
    """The four comparisons of :data:`LOCALITY_COMPARISONS` in one measure: name -> :func:`compare_summaries`
    answer to "is a more local than b" (``larger_is_local``: whether a larger value of the measure is more local)."""
    return {name: compare_summaries(summary[a], summary[b], larger=larger_is_local)
            for name, (a, b) in LOCALITY_COMPARISONS.items()}


def c3_locality_verdict(checks: Mapping[str, str]) -> str:
    """C3 in one measure: IMP more local than one-shot and one-shot than random (:func:`combine_answers`)."""
    return combine_answers(checks["IMP vs one-shot"], checks["one-shot vs random"])


def c2_verdict(checks: Mapping[str, str]) -> str:
    """C2 in one measure, from :func:`locality_checks`.

    Two parts: IMP is more local on the data than on the clone, and on the clone it finds no local RFs (IMP on
    the clone is no more local than random masks, answer :data:`NO`). :data:`REPRODUCED` if the first holds in
    every seed (:data:`YES`) and the second holds; :data:`PARTLY` if the first holds at least on average;
    :data:`NOT_REPRODUCED` if it fails; :data:`UNDEFINED` if it cannot be measured (a value missing on either side).
    """
    first, second = checks["IMP data vs clone"], checks["IMP clone vs random"]
    if first == NA:
        return UNDEFINED
    if first == YES and second == NO:
        return REPRODUCED
    return PARTLY if first != NO else NOT_REPRODUCED


@dataclass(frozen=True)
class LocalityResult:
    """``checks``: measure -> comparison name -> answer; ``c3`` / ``c2``: measure -> verdict;
    ``c3_verdict`` / ``c2_verdict``: the claims' verdicts over the defined measures (:func:`combine`)."""

    checks: dict[str, dict[str, str]]
    c3: dict[str, str]
    c2: dict[str, str]
    c3_verdict: str
    c2_verdict: str


def locality(summaries: Mapping[str, Mapping[Condition, Summary]]) -> LocalityResult:
    """C2 and C3 from the final-round summaries of each locality measure.

    ``summaries``: measure name (a key of :data:`LOCALITY_MEASURES`) -> condition -> {"mean", "min", "max"} over
    seeds; RF widths should already be undefined where too few units are detected (:func:`widths_where_detected`).
    Each measure gets the four :func:`locality_checks`, a C3 and a C2 verdict; each claim's verdict combines its
    measures (:func:`combine`). Measures keep the order of ``summaries``.
    """
    checks = {m: locality_checks(fs, LOCALITY_MEASURES[m]) for m, fs in summaries.items()}
    c3 = {m: c3_locality_verdict(c) for m, c in checks.items()}
    c2 = {m: c2_verdict(c) for m, c in checks.items()}
    return LocalityResult(checks, c3, c2, combine(c3), combine(c2))


# ------------------------------------------------------------------------------------------------
# C3 · preactivation kurtosis (notebook 05)
# ------------------------------------------------------------------------------------------------
GAUSSIAN_KURTOSIS = 3.0


@dataclass(frozen=True)
class KurtosisResult:
    """``gap``: (R,) per round, mean over seeds of |kurt − 3| for IMP minus the same for one-shot (> 0: IMP the
    more non-Gaussian); ``imp_above``: at the last round every IMP seed is further from 3 than every one-shot seed;
    ``grows``: gap at the last round > gap at the middle round > 0."""

    verdict: str
    gap: np.ndarray
    imp_above: bool
    grows: bool


def c3_kurtosis(imp: np.ndarray, oneshot: np.ndarray, gaussian: float = GAUSSIAN_KURTOSIS) -> KurtosisResult:
    """The kurtosis half of C3 from per-seed, per-round kurtosis ``imp`` and ``oneshot`` (seeds, R), rounds aligned.

    Non-Gaussianity is the distance from the Gaussian value, |kurt − ``gaussian``| (the NLGP's preactivations are
    light-tailed, ImageNet32's heavy-tailed). :data:`REPRODUCED` if IMP is further from Gaussian than one-shot in
    every seed at the last round and the gap grows (last > middle round, ``R // 2``, > 0); :data:`PARTLY` if
    the mean gap at the last round is positive; else :data:`NOT_REPRODUCED` (NaN gaps fail every test).
    """
    ng_imp = np.abs(np.asarray(imp, dtype=float) - gaussian)
    ng_one = np.abs(np.asarray(oneshot, dtype=float) - gaussian)
    gap = ng_imp.mean(0) - ng_one.mean(0)
    imp_above = bool(ng_imp[:, -1].min() > ng_one[:, -1].max())
    grows = bool(gap[-1] > gap[len(gap) // 2] > 0)
    verdict = REPRODUCED if (imp_above and grows) else (PARTLY if gap[-1] > 0 else NOT_REPRODUCED)
    return KurtosisResult(verdict, gap, imp_above, grows)


# ------------------------------------------------------------------------------------------------
# C4 · cavity scores (notebook 06)
# ------------------------------------------------------------------------------------------------
C4_JUST_IN_TIME = 0.8   # share of fate groups positive just before removal for Fig 5C to count as reproduced
C4_SOME_IN_TIME = 0.5   # ... and for it to count as some evidence
C4_RHO = -0.5           # rank correlation of the share of positive scores with fate, for "ordered"
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
    early = float(np.nanmean(mean_score[(fates >= C4_EARLY[0]) & (fates <= C4_EARLY[1])]))
    late = float(np.nanmean(mean_score[(fates >= C4_LATE_FROM) & (fates < never)]))
    return FateTrend(early, late, rho, rho_sign)


def c4_verdict(early: float, late: float, hits: int, total: int, rho_sign: float) -> str:
    """C4 from :class:`FateTrend` and :func:`c4_just_in_time`.

    Fig 5B holds if early-removed weights score positive and late-removed ones negative (``early > 0 > late``);
    Fig 5C holds if at least :data:`C4_JUST_IN_TIME` of the fate groups are positive just before removal.
    :data:`REPRODUCED` if both hold; :data:`PARTLY` if Fig 5B holds, or the share of positive scores falls with
    fate (``rho_sign <`` :data:`C4_RHO`), or at least :data:`C4_SOME_IN_TIME` of the groups are on time; else
    :data:`NOT_REPRODUCED`.
    """
    b_ok = early > 0 > late
    c_ok = total > 0 and hits / total >= C4_JUST_IN_TIME
    ordered = rho_sign < C4_RHO
    if b_ok and c_ok:
        return REPRODUCED
    return PARTLY if (b_ok or ordered or hits / max(total, 1) >= C4_SOME_IN_TIME) else NOT_REPRODUCED


@dataclass(frozen=True)
class C4Result:
    """``verdict`` (:func:`c4_verdict`), ``hits`` / ``total`` (:func:`c4_just_in_time`), ``trend``
    (:class:`FateTrend`)."""

    verdict: str
    hits: int
    total: int
    trend: FateTrend


def c4(fates: np.ndarray, mean_score: np.ndarray, share_positive: np.ndarray, over: np.ndarray,
       over_fates: np.ndarray, never: int) -> C4Result:
    """C4 from the round-0 per-fate statistics (F,) (mean score and share of positive scores, means over seeds)
    and the rescored per-fate means ``over`` (scoring rounds, F') of the groups ``over_fates`` (F',)."""
    hits, total = c4_just_in_time(over, over_fates, never)
    trend = c4_fate_trend(fates, mean_score, share_positive, never)
    return C4Result(c4_verdict(trend.early, trend.late, hits, total, trend.rho_sign), hits, total, trend)


# ------------------------------------------------------------------------------------------------
# the paper's proposal: cavity-guided pruning against IMP (notebook 07)
# ------------------------------------------------------------------------------------------------
SUPPORTED = "supported"
PARTLY_SUPPORTED = "partly supported"
NOT_SUPPORTED = "not supported"
LOCAL_LI = 1.5           # "local" masks: mean locality index >= 1.5 (random masks: 1)
LOCAL_DETECTION = 0.25   # ... or, in the detection rate, >= 25 % of units with a local peak (random masks: <= 5 %)
ACCURACY_TOLERANCE = 0.01  # an accuracy loss up to 1 point (fraction 0.01) at the last round counts as no cost


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


def at_least_as_local(answers: Mapping[str, str]) -> bool | None:
    """From per-measure answers to "is the method more local than IMP" (:func:`impkit.verdicts.compare_summaries`):
    True if every defined answer is yes or mean (ahead in every seed, or on average), False if any is no, None if
    none is defined (all n/a)."""
    defined = [a for a in answers.values() if a != NA]
    if not defined:
        return None
    return all(a in (YES, MEAN) for a in defined)


def proposal_verdict(as_local: bool | None, first_method: int | None, first_imp: int | None,
                     accuracy_gap: float, tolerance: float = ACCURACY_TOLERANCE) -> str:
    """Does cavity-guided pruning find local receptive fields at least as well as IMP, in fewer rounds, at no
    cost in accuracy?

    Args:
        as_local: :func:`at_least_as_local` at the last round (None: undefined).
        first_method, first_imp: :func:`first_round_at_least` of the method and of IMP (None: never local).
        accuracy_gap: mean test accuracy of the method minus IMP's at the last round (fractions; NaN: unknown).
        tolerance: the largest accuracy loss that counts as no cost.

    :data:`SUPPORTED` if the method is at least as local as IMP, becomes local in strictly fewer rounds, and loses
    at most ``tolerance`` accuracy; :data:`PARTLY_SUPPORTED` if it is at least as local or becomes local earlier
    (but not all three hold); :data:`NOT_SUPPORTED` otherwise; :data:`impkit.verdicts.UNDEFINED` if locality is
    undefined and neither run becomes local.
    """
    earlier = first_method is not None and (first_imp is None or first_method < first_imp)
    if as_local is None and first_method is None and first_imp is None:
        return UNDEFINED
    cheap = bool(np.isfinite(accuracy_gap) and accuracy_gap >= -tolerance)
    if as_local and earlier:
        return SUPPORTED if cheap else PARTLY_SUPPORTED
    return PARTLY_SUPPORTED if (as_local or earlier) else NOT_SUPPORTED


@dataclass(frozen=True)
class ProposalResult:
    """One method against IMP: ``verdict`` (:func:`proposal_verdict`), ``answers`` (measure -> is it more local
    than IMP at the last round), ``as_local``, ``first_local`` / ``first_local_imp`` (first round with mean
    locality index >= :data:`LOCAL_LI`), ``first_detected`` / ``first_detected_imp`` (the same with the detection
    rate >= :data:`LOCAL_DETECTION`), ``accuracy_gap`` (method − IMP, last round)."""

    verdict: str
    answers: dict
    as_local: bool | None
    first_local: int | None
    first_local_imp: int | None
    first_detected: int | None
    first_detected_imp: int | None
    accuracy_gap: float


def proposal(method, summaries: Mapping[str, Mapping], li_curves: Mapping, det_curves: Mapping,
             accuracy: Mapping, imp=None) -> ProposalResult:
    """:class:`ProposalResult` of condition ``method`` against ``imp`` (default: IMP on the data).

    ``summaries``: locality measure (keys of :data:`impkit.verdicts.LOCALITY_MEASURES`) -> condition -> {"mean",
    "min", "max"} at the last round (RF widths already undefined where too few units are detected,
    :func:`impkit.verdicts.widths_where_detected`); ``li_curves`` / ``det_curves``: :func:`impkit.analysis.curves`
    of the locality index and the detection rate; ``accuracy``: condition -> {"mean", ...} test accuracy at the
    last round (:func:`impkit.analysis.final_summary`).
    """
    imp = IMP if imp is None else imp
    answers = {m: compare_summaries(fs[method], fs[imp], larger=LOCALITY_MEASURES[m])
               for m, fs in summaries.items()}
    as_local = at_least_as_local(answers)

    def first(curves, cond, thr):
        return first_round_at_least(curves[cond]["values"], curves[cond]["rounds"], thr)

    fl, fl_imp = first(li_curves, method, LOCAL_LI), first(li_curves, imp, LOCAL_LI)
    fd, fd_imp = first(det_curves, method, LOCAL_DETECTION), first(det_curves, imp, LOCAL_DETECTION)
    gap = float(accuracy[method]["mean"] - accuracy[imp]["mean"])
    return ProposalResult(proposal_verdict(as_local, fl, fl_imp, gap), answers, as_local, fl, fl_imp, fd, fd_imp,
                          gap)


# ------------------------------------------------------------------------------------------------
# the scale study: one claim across the rungs of the ladder (notebook 08) and the dose points (notebook 09)
# ------------------------------------------------------------------------------------------------
GROWS, SHRINKS, FLAT = "grows", "shrinks", "flat"


@dataclass(frozen=True)
class ScaleTrend:
    """One claim across rungs: the rungs where it is ``reproduced`` / ``partly`` / ``not_reproduced`` (names, in
    ladder order; undefined ones left out), the first rung where it is reproduced (None: nowhere), and its effect
    from the ``base`` rung to the ``top`` rung (seed means, and the :func:`effect_trend` between them)."""

    reproduced: list[str]
    partly: list[str]
    not_reproduced: list[str]
    first_reproduced: str | None
    base: float
    top: float
    trend: str


def effect_trend(base: Sequence[float], top: Sequence[float]) -> str:
    """How an effect moves from one rung to a larger one, from its per-seed values at each (seeds,):
    :data:`GROWS` if every seed at ``top`` exceeds every seed at ``base`` (the seed ranges separate upwards),
    :data:`SHRINKS` if they separate downwards, else :data:`FLAT` (:data:`UNDEFINED` if either has no value)."""
    b = np.asarray(base, dtype=float)
    t = np.asarray(top, dtype=float)
    b, t = b[np.isfinite(b)], t[np.isfinite(t)]
    if not b.size or not t.size:
        return UNDEFINED
    if t.min() > b.max():
        return GROWS
    if t.max() < b.min():
        return SHRINKS
    return FLAT


def scale_trend(names: Sequence[str], claim_verdicts: Sequence[str], base: Sequence[float],
                top: Sequence[float]) -> ScaleTrend:
    """A claim across rungs ``names`` (ladder order) with its verdict at each, and the per-seed effect at the
    smallest (``base``) and largest (``top``) rung of one task."""
    by = {v: [n for n, x in zip(names, claim_verdicts) if x == v] for v in VERDICTS}
    first = by[REPRODUCED][0] if by[REPRODUCED] else None
    b, t = np.asarray(base, dtype=float), np.asarray(top, dtype=float)
    mean = lambda v: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")  # noqa: E731
    return ScaleTrend(by[REPRODUCED], by[PARTLY], by[NOT_REPRODUCED], first, mean(b), mean(t),
                      effect_trend(b, t))


@dataclass(frozen=True)
class DoseAnswers:
    """The dose-response questions at one input distribution (notebook 09), each a :func:`compare` answer over
    seeds: ``localises`` (IMP's detection rate on the data above random masks'), ``data_over_clone`` (above IMP's
    on the Gaussian clone), ``kurt_above_3`` (IMP's last-round preactivation kurtosis above 3), ``kurt_rises``
    (above its round-0 value), ``kurt_over_oneshot`` (IMP's preactivations further from Gaussian than one-shot's at
    the last round, |kurt − 3| as in :func:`c3_kurtosis`: on heavy-tailed inputs, IMP's kurtosis above one-shot's)."""

    localises: str
    data_over_clone: str
    kurt_above_3: str
    kurt_rises: str
    kurt_over_oneshot: str


def dose_answers(det_imp, det_random, det_clone, kurt_imp, kurt_oneshot) -> DoseAnswers:
    """:class:`DoseAnswers` from per-seed values: detection rates (seeds,) at the last round, preactivation kurtosis
    (seeds, R) per round (round 0 first, the last round last) for IMP and one-shot."""
    ki = np.asarray(kurt_imp, dtype=float)
    ko = np.asarray(kurt_oneshot, dtype=float)
    return DoseAnswers(
        compare(det_imp, det_random, larger=True), compare(det_imp, det_clone, larger=True),
        compare(ki[:, -1], [GAUSSIAN_KURTOSIS], larger=True), compare(ki[:, -1], ki[:, 0], larger=True),
        compare(np.abs(ki[:, -1] - GAUSSIAN_KURTOSIS), np.abs(ko[:, -1] - GAUSSIAN_KURTOSIS), larger=True))


__all__ = [
    "REPRODUCED", "PARTLY", "NOT_REPRODUCED", "UNDEFINED", "VERDICTS", "YES", "MEAN", "NO", "NA", "ANSWERS",
    "IMP", "ONESHOT", "RANDOM", "IMP_CLONE", "summarize", "compare_summaries", "compare", "verdict_from_parts",
    "combine_answers", "combine", "C1_MIN_RATIO", "C1Result", "c1", "MIN_DETECTION_RATE", "LOCALITY_MEASURES",
    "LOCALITY_COMPARISONS", "widths_where_detected", "locality_checks", "c3_locality_verdict", "c2_verdict",
    "LocalityResult", "locality", "GAUSSIAN_KURTOSIS", "KurtosisResult", "c3_kurtosis", "C4_JUST_IN_TIME",
    "C4_SOME_IN_TIME", "C4_RHO", "C4_EARLY", "C4_LATE_FROM", "c4_just_in_time", "FateTrend", "c4_fate_trend",
    "c4_verdict", "C4Result", "c4", "SUPPORTED", "PARTLY_SUPPORTED", "NOT_SUPPORTED", "LOCAL_LI", "LOCAL_DETECTION",
    "ACCURACY_TOLERANCE", "first_round_at_least", "rounds_ahead", "peak", "at_least_as_local", "proposal_verdict",
    "ProposalResult", "proposal", "GROWS", "SHRINKS", "FLAT", "ScaleTrend", "effect_trend", "scale_trend",
    "DoseAnswers", "dose_answers",
]


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
