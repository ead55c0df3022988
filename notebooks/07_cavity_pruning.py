# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The paper's proposal · Cavity-guided pruning
#
# **The proposal.** Redman et al. close their Discussion by noting that the cavity score, computed before any
# pruning, already orders first-layer weights roughly by the round in which IMP removes them, and suggest that it
# "could be used to more efficiently find localized RFs". Here we build that pruning method and compare it with
# IMP and its two baselines: does cavity-guided pruning find local receptive fields at least as well as IMP, in
# fewer rounds, and at what cost in accuracy?
#
# **The methods** (`impkit.cavity_pruning`). *Cavity* pruning runs exactly like IMP — the same per-layer counts
# every round, the same rewinding and retraining, the same magnitude pruning of every layer but the first — except
# that in round $n$ the first layer loses the fraction $s$ of its surviving weights with the **largest cavity score**
# (paper Eq. 5: their removal makes the unit's preactivation most non-Gaussian), scored at the rewind point
# $\theta(t_\text{rewind}) \odot m(n-1)$, where the paper computes its Fig. 5. The variant, *cavity at θ(T)*, scores
# the first layer at the trained weights $\theta(T) \odot m(n-1)$ of the previous round instead, where IMP reads
# its magnitudes: at the rewind point the first layer is still close to its random initialisation, and a
# score computed there may say more about the sample than about the weights (we measure this below). Scores use
# a bounded sample of the run's training inputs, {glue:text}`cp_score_inputs` here, spread evenly over the classes
# ({glue:text}`cp_score_per_class` or more per class); weights whose score is undefined (a unit's last weight) are
# kept first; ties go to the lower index. The methods page lists every choice.

# %% tags=["parameters"]
preset = "default"        # "ci" | "default" | "paper"
dataset = None            # None: the preset's dataset (its Gaussian clone is added)
seeds = None              # None: the preset's seeds
methods = ["imp", "oneshot", "random", "cavity", "cavity-trained"]
run_root = "../runs"      # run directories are created here, or reused when they exist
device = "auto"           # "auto" | "cpu" | "cuda"
overrides = {}            # dotted config overrides, e.g. {"train.steps": 2000}
min_weights = 8           # units with fewer surviving first-layer weights are excluded from the locality measures
kurt_min_per_class = 100  # the kurtosis uses the test split if it has this many inputs of every class, else the
                          # training split; per class only if the split chosen has this many, else pooled

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from impkit import analysis, plotting, verdicts
from impkit import cavity_pruning as CP
from impkit.conditions import Condition
from impkit.display import report, seed_ranges, table
from impkit.params import as_dict, as_list
from impkit.presets import preset_seeds
from impkit.runs import ensure_runs

plotting.style()
seeds = as_list(seeds, "seeds", item=int) or preset_seeds(preset)
methods = as_list(methods, "methods", item=str) or ["imp", "oneshot", "random", "cavity", "cavity-trained"]
overrides = as_dict(overrides, "overrides")
runs = ensure_runs(preset, dataset, methods=methods, seeds=seeds, root=run_root, device=device,
                   overrides=overrides, clone=True, progress=False)
groups = analysis.group_runs(runs)
shape = analysis.image_shape(runs[0])
name = runs[0].dataset
rows = analysis.rf_width_rows(runs, min_weights=min_weights)
acc_rows = analysis.accuracy_rows(runs)
# Preactivation kurtosis on inputs held out from the scores' training sample where the test split allows it; per
# class (paper Fig 4B) only where every class has enough inputs (a kurtosis from a handful of samples is biased low
# and can be 0/0 when a unit's inputs happen to be constant within a class).
kurt_split = "test" if np.bincount(runs[0].load_data("test").y.numpy()).min() >= kurt_min_per_class else "train"
kurt_by_class = int(np.bincount(runs[0].load_data(kurt_split).y.numpy()).min()) >= kurt_min_per_class
kurt_key = "kurt_class" if kurt_by_class else "kurt_all"
if kurt_by_class:
    kurt_rows = analysis.kurtosis_rows(runs, split=kurt_split, device=device)
else:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # only the unused per-class column can fail
        kurt_rows = analysis.kurtosis_rows(runs, split=kurt_split, device=device)
last = max(r["round"] for r in rows)
proposed = [m for m in ("cavity", "cavity-trained") if m in methods]
train = runs[0].load_data("train")
n_scores = min(CP.SCORE_INPUTS, len(train))
per_class = np.bincount(train.y[CP.spread_indices(train.y, n_scores)].numpy())
glue("cp_score_inputs", f"{n_scores:,}", display=False)
glue("cp_score_per_class", f"{int(per_class.min()):,}", display=False)
glue("cp_kurt_per_class", f"{int(pd.DataFrame(kurt_rows)['n_per_class_min'].min()):,}", display=False)
glue("cp_kurt_split", kurt_split, display=False)
glue("cp_kurt_why", "held out from the scores' inputs" if kurt_split == "test" else
     f"the test split has fewer than {kurt_min_per_class} inputs of some class", display=False)
glue("cp_kurt_measure", "per class, then averaged over classes" if kurt_by_class else
     f"pooled over all inputs (fewer than {kurt_min_per_class} per class)", display=False)
glue("cp_kurt_short", "per class" if kurt_by_class else "pooled", display=False)
print(f"{len(runs)} runs, rounds 0..{last}; cavity scores from {n_scores:,} training inputs "
      f"({int(per_class.min()):,} or more per class)")

# %% [markdown]
# ## What do the masks look like?
# First-layer masks after the last round, seed 0, on the data: the 8 units with the most surviving weights
# (white = kept; the number above each mask is how many weights the unit keeps).

# %%
for method in methods:
    r = groups[(name, method)][0]
    fig = plotting.mask_gallery(r.mask(last)[0], shape, n=8, ncols=8,
                                title=f"{Condition(method).display}, round {last} "
                                      f"({analysis.first_layer_sparsity(r, last):.1%} sparse)")

# %% [markdown]
# ## Do the masks localise, and how early?
# Top: the data; bottom: its Gaussian clone. Left: share of units with a detected local peak (random masks: at most
# about 0.05); middle: locality index (1 = random); right: RF width $\sigma_x$ over the detected units (nan where
# none is detected). Line = mean over seeds, band = min..max; sparsity on a log scale of the weights kept, so the
# rounds are evenly spaced. The dotted line in the middle panels marks the locality index
# {glue:text}`cp_local_li:.1f` used below to say when masks "become local".

# %%
det_c = analysis.curves(rows, "frac_detected")
li_c = analysis.curves(rows, "li_mean")
w_c = analysis.curves(rows, "sigma_x_mean")
glue("cp_local_li", verdicts.LOCAL_LI, display=False)
glue("cp_local_det", 100 * verdicts.LOCAL_DETECTION, display=False)
fig, axes = plt.subplots(2, 3, figsize=(12.6, 6.4))
for row, clone in enumerate((False, True)):
    pick = lambda c: {k: v for k, v in c.items() if k.clone == clone}  # noqa: E731
    src = "clone" if clone else "data"
    plotting.metric_vs_sparsity(pick(det_c), "units with a detected peak", ax=axes[row, 0], hline=0.05,
                                title=f"detection rate ({src})")
    plotting.metric_vs_sparsity(pick(li_c), "locality index", ax=axes[row, 1], hline=verdicts.LOCAL_LI,
                                title=f"locality index ({src})")
    plotting.metric_vs_sparsity(pick(w_c), r"RF width $\sigma_x$ (pixels)", ax=axes[row, 2],
                                title=f"RF width, detected units ({src})")
fig.tight_layout()

# %% [markdown]
# ## What does it cost in accuracy?
# Test accuracy of the network retrained after each round (left: data, right: clone).

# %%
acc_c = analysis.curves(acc_rows, "test_acc")
fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.2), sharey=True)
for ax, clone in zip(axes, (False, True)):
    plotting.metric_vs_sparsity({k: v for k, v in acc_c.items() if k.clone == clone}, "test accuracy", ax=ax,
                                title="clone" if clone else "data")
fig.tight_layout()

# %% [markdown]
# ## Does it make the preactivations more non-Gaussian?
# Kurtosis of the first-layer preactivations at the rewind point $\theta(t_\text{rewind}) \odot m(n)$, averaged
# over units (grey line: the Gaussian value 3). Cavity pruning chooses, one weight at a time, the removals that
# move each unit's kurtosis furthest from 3, so if anything should raise non-Gaussianity, it should. It chooses them
# on a sample of the *training* inputs, and a kurtosis measured on that same sample would also reward it for fitting
# the sample's noise; so here the kurtosis is measured on the {glue:text}`cp_kurt_split` split
# ({glue:text}`cp_kurt_why`), {glue:text}`cp_kurt_per_class` inputs per class, {glue:text}`cp_kurt_measure`.

# %%
k_c = analysis.curves(kurt_rows, kurt_key)
fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.2), sharey=True)
for ax, clone in zip(axes, (False, True)):
    plotting.metric_vs_sparsity({k: v for k, v in k_c.items() if k.clone == clone},
                                "kurtosis (per class)" if kurt_by_class else "kurtosis (all inputs)", ax=ax,
                                hline=3.0, title="clone" if clone else "data")
fig.tight_layout()

# %% [markdown]
# ## Is the ranking signal or sampling noise?
# The method ranks weights by a difference of two kurtoses estimated from a finite sample. We score the first
# layer of each IMP run twice, on two disjoint halves of its training inputs (each spread over the classes), at
# the rewind point and at θ(T), and ask how often the two halves agree on which 30 % of the surviving weights to
# remove (chance: 30 %). Bars: mean over seeds; ticks: min..max.

# %%
rel_rounds = sorted({0, last // 2})
rel = []
for r in groups[(name, "imp")]:
    ds = r.load_data("train")
    for n in rel_rounds:
        m0 = r.mask(n)[0]
        for point, which in (("rewind", "rewind"), ("θ(T)", "trained")):
            res = CP.split_half_reliability(r.weights(n, which)[0][0], m0, ds, rate=r.config.prune.rate)
            rel.append({"seed": r.seed, "round": n, "point": point, **res})
rel = pd.DataFrame(rel)
fig, ax = plt.subplots(figsize=(5.0, 3.0))
xs = np.arange(len(rel_rounds))
for j, (point, colour) in enumerate((("rewind", plotting.method_color("cavity")),
                                     ("θ(T)", plotting.method_color("cavity-trained")))):
    g = rel[rel["point"] == point].groupby("round")["overlap"]
    mean, lo, hi = g.mean().to_numpy(), g.min().to_numpy(), g.max().to_numpy()
    ax.bar(xs + (j - 0.5) * 0.36, 100 * mean, 0.36, color=colour, label=f"scored at {point}",
           yerr=100 * np.vstack([mean - lo, hi - mean]), capsize=3)
ax.axhline(100 * rel["chance"].mean(), color="0.5", lw=0.8, ls=":", label="chance")
ax.set_xticks(xs, [f"round {n}" for n in rel_rounds])
ax.set_ylabel("removals both halves agree on (%)")
ax.set_ylim(0, 100)
ax.legend(frameon=False)
fig.tight_layout()
table(seed_ranges(rel, {"overlap": "removals agreed on", "chance": "chance", "rho": "rank correlation"},
                  by=("point", "round"), digits=3, label=lambda k: f"scored at {k[0]}, round {k[1]}"))

# %% [markdown]
# ## The numbers at the last round
# Mean over seeds (min–max).

# %%
numbers = pd.DataFrame(rows).merge(pd.DataFrame(acc_rows)[["dataset", "method", "seed", "round", "test_acc"]])
numbers = numbers.merge(pd.DataFrame(kurt_rows)[["dataset", "method", "seed", "round", kurt_key]])
table(seed_ranges(numbers[numbers["round"] == last], {
    "frac_detected": "detection rate", "li_mean": "locality index", "sigma_x_mean": "RF width σx (px)",
    "test_acc": "test accuracy", kurt_key: "kurtosis" + (" (per class)" if kurt_by_class else " (pooled)"),
}, digits=3, label=lambda k: Condition.of(*k).display))

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
fs_det = analysis.final_summary(rows, "frac_detected")
fs_li = analysis.final_summary(rows, "li_mean")
fs_w = analysis.final_summary(rows, "sigma_x_mean")
fs_acc = analysis.final_summary(acc_rows, "test_acc")
fs_k = analysis.final_summary(kurt_rows, kurt_key)
glue("cp_sparsity", 100 * fs_li[verdicts.IMP]["sparsity"], display=False)
glue("cp_last", int(last), display=False)
for c in fs_li:
    glue(f"cp_det_{c.slug}", 100 * fs_det[c]["mean"], display=False)
    glue(f"cp_li_{c.slug}", fs_li[c]["mean"], display=False)
    glue(f"cp_rf_{c.slug}", fs_w[c]["mean"], display=False)
    glue(f"cp_acc_{c.slug}", 100 * fs_acc[c]["mean"], display=False)
    glue(f"cp_kurt_{c.slug}", fs_k[c]["mean"], display=False)
    fl = verdicts.first_round_at_least(li_c[c]["values"], li_c[c]["rounds"], verdicts.LOCAL_LI)
    fd = verdicts.first_round_at_least(det_c[c]["values"], det_c[c]["rounds"], verdicts.LOCAL_DETECTION)
    glue(f"cp_first_li_{c.slug}", "never" if fl is None else f"{fl}", display=False)
    glue(f"cp_first_det_{c.slug}", "never" if fd is None else f"{fd}", display=False)
for point in ("rewind", "θ(T)"):
    sel = rel[(rel["point"] == point) & (rel["round"] == 0)]
    key = "rewind" if point == "rewind" else "trained"
    glue(f"cp_rel_{key}", 100 * float(sel["overlap"].mean()), display=False)
    glue(f"cp_rho_{key}", float(sel["rho"].mean()), display=False)
glue("cp_rel_chance", 100 * float(rel["chance"].mean()), display=False)
# non-Gaussianity is the distance of the kurtosis from the Gaussian value (light or heavy tails, as in verdicts.c3b)
ng_imp = abs(fs_k[verdicts.IMP]["mean"] - verdicts.GAUSSIAN_KURTOSIS)
for m in proposed:
    ng = abs(fs_k[Condition(m)]["mean"] - verdicts.GAUSSIAN_KURTOSIS)
    glue(f"cp_ng_{Condition(m).slug}", "further from" if ng > ng_imp else "no further from", display=False)


def _r(v):
    return "never" if v is None else f"round {v}"


def _yn(v):
    return {True: "yes", False: "no", None: "undefined"}[v]


def _rounds_text(rs):
    """[2, 3, 4, 7] -> "2–4, 7"; [] -> "none"."""
    parts, start = [], None
    for i, r in enumerate(rs):
        start = r if start is None else start
        if i + 1 == len(rs) or rs[i + 1] != r + 1:
            parts.append(f"{start}" if start == r else f"{start}–{r}")
            start = None
    return ", ".join(parts) or "none"


# along the schedule, on the data: where each proposed method is ahead of IMP, and its peak locality
imp_li, imp_det, imp_acc = li_c[verdicts.IMP], det_c[verdicts.IMP], acc_c[verdicts.IMP]
for m in proposed:
    c = Condition(m)
    glue(f"cp_ahead_li_{c.slug}", _rounds_text(verdicts.rounds_ahead(li_c[c]["values"], imp_li["values"],
                                                               li_c[c]["rounds"])), display=False)
    glue(f"cp_ahead_det_{c.slug}", _rounds_text(verdicts.rounds_ahead(det_c[c]["values"], imp_det["values"],
                                                                det_c[c]["rounds"])), display=False)
    glue(f"cp_behind_acc_{c.slug}", _rounds_text(verdicts.rounds_ahead(imp_acc["values"], acc_c[c]["values"],
                                                                 acc_c[c]["rounds"])), display=False)
    pr, pv = verdicts.peak(li_c[c]["values"], li_c[c]["rounds"])
    glue(f"cp_peak_round_{c.slug}", "none" if pr is None else f"{pr}", display=False)
    glue(f"cp_peak_li_{c.slug}", pv, display=False)
    at = np.flatnonzero(imp_li["rounds"] == pr)
    glue(f"cp_imp_li_at_peak_{c.slug}",
         float(np.nanmean(imp_li["values"][:, at[0]])) if at.size else float("nan"), display=False)

# the middle of the schedule, where the detection rate and the locality index disagree
mid = last // 2
glue("cp_mid_round", int(mid), display=False)
glue("cp_image_side", int(max(shape[1:])), display=False)
fs_mid = {k: analysis.final_summary(rows, k, round_=mid) for k in ("frac_detected", "li_mean", "sigma_x_mean")}
for c in fs_mid["li_mean"]:
    glue(f"cp_mid_det_{c.slug}", 100 * fs_mid["frac_detected"][c]["mean"], display=False)
    glue(f"cp_mid_li_{c.slug}", fs_mid["li_mean"][c]["mean"], display=False)
    glue(f"cp_mid_rf_{c.slug}", fs_mid["sigma_x_mean"][c]["mean"], display=False)

pw_c = analysis.curves(rows, "sigma_paper_mean")  # the paper's RF width, mean over units (C3a's statistic)
results = {}
for m in proposed:
    for clone in (False, True):
        c, ci = Condition(m, clone), Condition("imp", clone)
        res = verdicts.proposal(pw_c[c]["values"][:, -1], pw_c[ci]["values"][:, -1], acc_c[c]["values"][:, -1],
                                acc_c[ci]["values"][:, -1], li_method=li_c[c]["values"], li_imp=li_c[ci]["values"],
                                det_method=det_c[c]["values"], det_imp=det_c[ci]["values"], rounds=li_c[c]["rounds"])
        results[c] = res
        glue(f"cp_verdict_{c.slug}", res.verdict, display=False)
        glue(f"cp_effect_{c.slug}", res.locality.text, display=False)
        glue(f"cp_gap_{c.slug}", res.accuracy.text, display=False)
        glue(f"cp_gapverdict_{c.slug}", verdicts.in_words(res.accuracy.verdict, "higher", "lower"), display=False)
glue("cp_width_delta", verdicts.WIDTH_DELTA, display=False)
glue("cp_acc_delta", 100 * verdicts.ACCURACY_DELTA, display=False)


report(*[f"**{c.display}: {res.verdict}** (more local than {'IMP on the clone' if c.clone else 'IMP'}: paper RF "
          f"width of IMP minus the method's, {res.locality.text} px, {res.locality.n} seeds). Accuracy, method − IMP: "
          f"{res.accuracy.text} ({verdicts.in_words(res.accuracy.verdict, 'higher', 'lower')}). Locality index ≥ {verdicts.LOCAL_LI}: "
          f"{_r(res.first_local)} (IMP: {_r(res.first_local_imp)})." for c, res in results.items()])

# %% [markdown]
# At round {glue:text}`cp_last` ({glue:text}`cp_sparsity:.1f` % first-layer sparsity), means over seeds on the
# data:
#
# | | IMP | one-shot | random | cavity | cavity at θ(T) |
# |---|---|---|---|---|---|
# | units with a detected peak (%) | {glue:text}`cp_det_imp:.0f` | {glue:text}`cp_det_oneshot:.0f` | {glue:text}`cp_det_random:.0f` | {glue:text}`cp_det_cavity:.0f` | {glue:text}`cp_det_cavity-trained:.0f` |
# | locality index (1 = random) | {glue:text}`cp_li_imp:.2f` | {glue:text}`cp_li_oneshot:.2f` | {glue:text}`cp_li_random:.2f` | {glue:text}`cp_li_cavity:.2f` | {glue:text}`cp_li_cavity-trained:.2f` |
# | RF width over detected units (px; nan = undefined) | {glue:text}`cp_rf_imp:.2f` | {glue:text}`cp_rf_oneshot:.2f` | {glue:text}`cp_rf_random:.2f` | {glue:text}`cp_rf_cavity:.2f` | {glue:text}`cp_rf_cavity-trained:.2f` |
# | first round with locality index ≥ {glue:text}`cp_local_li:.1f` | {glue:text}`cp_first_li_imp` | {glue:text}`cp_first_li_oneshot` | {glue:text}`cp_first_li_random` | {glue:text}`cp_first_li_cavity` | {glue:text}`cp_first_li_cavity-trained` |
# | first round with ≥ {glue:text}`cp_local_det:.0f` % units detected | {glue:text}`cp_first_det_imp` | {glue:text}`cp_first_det_oneshot` | {glue:text}`cp_first_det_random` | {glue:text}`cp_first_det_cavity` | {glue:text}`cp_first_det_cavity-trained` |
# | test accuracy (%) | {glue:text}`cp_acc_imp:.1f` | {glue:text}`cp_acc_oneshot:.1f` | {glue:text}`cp_acc_random:.1f` | {glue:text}`cp_acc_cavity:.1f` | {glue:text}`cp_acc_cavity-trained:.1f` |
# | preactivation kurtosis ({glue:text}`cp_kurt_short`) | {glue:text}`cp_kurt_imp:.3f` | {glue:text}`cp_kurt_oneshot:.3f` | {glue:text}`cp_kurt_random:.3f` | {glue:text}`cp_kurt_cavity:.3f` | {glue:text}`cp_kurt_cavity-trained:.3f` |
#
# On the Gaussian clone the same columns read: units with a detected peak {glue:text}`cp_det_imp_clone:.0f`,
# {glue:text}`cp_det_oneshot_clone:.0f`, {glue:text}`cp_det_random_clone:.0f`, {glue:text}`cp_det_cavity_clone:.0f`
# and {glue:text}`cp_det_cavity-trained_clone:.0f` %; locality index {glue:text}`cp_li_imp_clone:.2f`,
# {glue:text}`cp_li_oneshot_clone:.2f`, {glue:text}`cp_li_random_clone:.2f`, {glue:text}`cp_li_cavity_clone:.2f`
# and {glue:text}`cp_li_cavity-trained_clone:.2f`; test accuracy {glue:text}`cp_acc_imp_clone:.1f`,
# {glue:text}`cp_acc_oneshot_clone:.1f`, {glue:text}`cp_acc_random_clone:.1f`, {glue:text}`cp_acc_cavity_clone:.1f`
# and {glue:text}`cp_acc_cavity-trained_clone:.1f` %.
#
# **Along the schedule.** The last round is not the whole story. Cavity pruning's masks are more local than IMP's
# (mean locality index) at rounds {glue:text}`cp_ahead_li_cavity` (at θ(T): {glue:text}`cp_ahead_li_cavity-trained`)
# and have a detected local peak in more units at rounds {glue:text}`cp_ahead_det_cavity` (at θ(T):
# {glue:text}`cp_ahead_det_cavity-trained`). Its locality index peaks at {glue:text}`cp_peak_li_cavity:.2f` in round
# {glue:text}`cp_peak_round_cavity`, where IMP's is {glue:text}`cp_imp_li_at_peak_cavity:.2f` (at θ(T):
# {glue:text}`cp_peak_li_cavity-trained:.2f` in round {glue:text}`cp_peak_round_cavity-trained`, IMP
# {glue:text}`cp_imp_li_at_peak_cavity-trained:.2f`). Its test accuracy is below IMP's at rounds
# {glue:text}`cp_behind_acc_cavity` (at θ(T): {glue:text}`cp_behind_acc_cavity-trained`).
#
# **Non-Gaussianity and locality.** Cavity pruning is built to move each unit's kurtosis away from 3. At the last
# round its preactivation kurtosis is {glue:text}`cp_kurt_cavity:.3f` (at θ(T):
# {glue:text}`cp_kurt_cavity-trained:.3f`),
# {glue:text}`cp_ng_cavity` (at θ(T): {glue:text}`cp_ng_cavity-trained`) the Gaussian value 3 than IMP's
# {glue:text}`cp_kurt_imp:.3f`; whether that buys locality is the table's question. On the clone, whose inputs
# are Gaussian within each class (the score can only find the mild non-Gaussianity of pooling two classes, and
# sampling noise), cavity pruning at the rewind point ends with a local peak in {glue:text}`cp_det_cavity_clone:.0f` %
# of units against {glue:text}`cp_det_cavity:.0f` % on the data (IMP: {glue:text}`cp_det_imp_clone:.0f` % against
# {glue:text}`cp_det_imp:.0f` %). In the middle of the schedule the picture is different: at round
# {glue:text}`cp_mid_round` the two cavity methods have a detected peak in {glue:text}`cp_mid_det_cavity:.0f` and
# {glue:text}`cp_mid_det_cavity-trained:.0f` % of units against IMP's {glue:text}`cp_mid_det_imp:.0f` %, RF widths
# {glue:text}`cp_mid_rf_cavity:.1f` and {glue:text}`cp_mid_rf_cavity-trained:.1f` pixels against
# {glue:text}`cp_mid_rf_imp:.1f` (on a {glue:text}`cp_image_side`-pixel image) and locality indices
# {glue:text}`cp_mid_li_cavity:.2f` and {glue:text}`cp_mid_li_cavity-trained:.2f` against
# {glue:text}`cp_mid_li_imp:.2f`; on the clone, {glue:text}`cp_mid_det_cavity_clone:.0f` and
# {glue:text}`cp_mid_det_cavity-trained_clone:.0f` % of units against IMP's {glue:text}`cp_mid_det_imp_clone:.0f` %.
#
# **Is the score reliable?** Scored at the rewind point before any pruning, two disjoint halves of the training
# inputs agree on {glue:text}`cp_rel_rewind:.0f` % of the weights to remove (chance
# {glue:text}`cp_rel_chance:.0f` %; rank correlation of the scores {glue:text}`cp_rho_rewind:.2f`); scored at θ(T)
# they agree on {glue:text}`cp_rel_trained:.0f` % (rank correlation {glue:text}`cp_rho_trained:.2f`).
#
# **Verdict.** The proposal's claim is that cavity-guided masks are more local than IMP's. Its statistic is the
# paper's RF width (mean over units, as for C3a), IMP's minus the method's at the last round, paired by seed (the
# methods share round 0), judged by the calibrated rule with the margin δ = {glue:text}`cp_width_delta` px
# (`impkit.verdicts.proposal`): *reproduced* if the 90 % interval lies above δ, *not reproduced* if it lies within ±δ
# (as local as IMP), *opposite* if below −δ, *inconclusive* otherwise. The accuracy difference is judged beside it
# with δ = {glue:text}`cp_acc_delta:.0f` point. Cavity pruning at the rewind point, the paper's proposal:
# **{glue:text}`cp_verdict_cavity`** ({glue:text}`cp_effect_cavity` px; accuracy {glue:text}`cp_gap_cavity`,
# {glue:text}`cp_gapverdict_cavity`). Scored at θ(T): **{glue:text}`cp_verdict_cavity-trained`**
# ({glue:text}`cp_effect_cavity-trained` px; accuracy {glue:text}`cp_gap_cavity-trained`,
# {glue:text}`cp_gapverdict_cavity-trained`). The rounds at which each becomes local (table above) are descriptive:
# they do not vote.
