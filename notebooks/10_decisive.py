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
# # Is non-Gaussianity necessary? The decisive experiments
#
# The paper's central test (C2) trains IMP on a **Gaussian clone** of the data that keeps each class's mean and
# covariance: if IMP then finds no local receptive fields, the data's non-Gaussian statistics are *necessary* for
# them. In every task of this book so far the classes differ in their covariance, so the clone keeps a class signal
# that short-range filters can read, and IMP localises on it (53–99 % of units detected on the clone across the
# recorded ladder; 97.5 % on the Gaussian field itself, the dose point p = 1). Two explanations compete:
#
# * **H** — IMP needs the inputs' higher cumulants: on a Gaussian input it finds no local receptive fields (the
#   paper's reading of its Fig. 3).
# * **H′** — IMP localises wherever the class signal can be read by **local filters**, Gaussian or not.
#
# They predict differently wherever a Gaussian input carries a locally readable class signal (H′: local RFs; H:
# none), and wherever the data are non-Gaussian but their class signal is not locally readable. To let H′ fail, the
# local readability of every data set and clone is *measured*: the held-out accuracy of a per-class Gaussian
# (quadratic) discriminant restricted to one 5×5 window (`impkit.metrics.readability.local_readability`; the
# window best on a selection split, scored on a separate split).
#
# This section was written, and committed, **before any result of these experiments existed**; the results
# follow below it in later commits and are judged by the calibrated rules of `impkit.verdicts` (methods page).

# %% tags=["parameters"]
preset = "default"        # the recordings are at the default preset; ci reads the same recordings (JSON only)
recorded_dir = None        # recorded summaries; None: impkit.decisive.RECORDED_DIR (book/recorded/decisive)
tasks = None              # task slugs to show (None: every task of impkit.decisive.TASKS)

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
from myst_nb import glue

from impkit import decisive, plotting, verdicts
from impkit.display import report, table
from impkit.params import as_list

plotting.style()
tasks = as_list(tasks, "tasks", item=str) or list(decisive.TASKS)
for slug in tasks:
    decisive.task(slug)  # refuses an unknown slug by name

# %% [markdown]
# ## The experiments and their sizes
#
# Every task is IMP, one-shot and random pruning (30 % per round, 10 rounds: 97 % of the first layer's weights
# removed, the book's default schedule), on the data and on its Gaussian clone, three seeds, on the `default`
# preset's network and training (one hidden layer of 128 units, 2,000 SGD steps per round, rewind to step 200,
# batch 40, learning rate 0.1). The first recordings (format `impkit.decisive/1`) left one-shot out to fit two
# shared CPU cores, so C3b (IMP against one-shot) and C4 (the cavity scores) were not judged; one-shot was added
# afterwards with the same sizes (format 2), and a format-1 recording still on this page is marked "not judged".
#
# **How the sizes were fixed.** They are the book's default sizes; Fashion-MNIST uses its first 20,000 training
# and 5,000 test images. A pilot on the **data only** (Fashion-MNIST, seed 0, IMP/one-shot/random, first four
# rounds, no clone) checked that they suit the data: the dense network reaches 82.6 % test accuracy (a task neither
# solved nor unlearnt) and IMP's sparse networks beat random masks by 2.4 points at round 3 (84.9 vs 82.8 %), so
# the IMP-vs-random precondition can be met. No clone was trained or looked at before this section was committed;
# no size was chosen from a data-vs-clone contrast.

# %%
rows = []
for slug in tasks:
    t = decisive.task(slug)
    cfgs = decisive.configs(t)
    data_cfg, clone_cfg = cfgs[0], cfgs[-1]
    rows.append({"task": slug, "data": t.rung.dataset, "question": t.question,
                 "data options": ", ".join(f"{k}={v}" for k, v in data_cfg.data.options.items()) or "-",
                 "clone options": ", ".join(f"{k}={v}" for k, v in t.clone_options.items()) or "-",
                 "hidden": data_cfg.model.hidden[0], "steps": data_cfg.train.steps,
                 "rounds": data_cfg.prune.rounds, "seeds": len(decisive.SEEDS)})
display(table(pd.DataFrame(rows).set_index("task"), integer=["hidden", "steps", "rounds", "seeds"]))
glue("dec_n_tasks", len(tasks), display=False)

# %% [markdown]
# The tasks:
#
# 1. **Fashion-MNIST** (10 classes, 28×28 grey) with three clones: fitted per class on all of its ~2,000 training
#    rows (`fm`); the paper's way, on a seeded random 100 images per class (`fm-fit100`, clone option
#    `fit_per_class=100`); and on the same 100 per class with the covariance **shrunk to full rank**
#    (`fm-fit100-shrunk`: `shrinkage=0.5` towards the pooled within-class covariance of the same 1,000 images).
#    A covariance fitted on 100 images has rank ≤ 99, so each class of `fm-fit100` lies in its own 99-dimensional
#    affine subspace of the 784 pixels — a *global* cue (which subspace holds the image?) that no local filter needs.
#    Shrinking towards the pooled covariance rather than adding a ridge: a ridge adds white, spatially unstructured
#    variance, which would itself change how local the clone's structure is; the pooled covariance is image-like.
#    Half and half (0.5) was fixed before any run: the variance outside each class's subspace is then of the order
#    of the variance inside it, so the subspace cue is gone while half of each class's own covariance is kept.
# 2. **Fashion-MNIST translated** (`fm-translated`, dataset `fashion-mnist-translated`): every row a seeded random
#    cyclic shift and left-right flip of an item, so each class's mean is flat and its covariance stationary; its
#    clone is the exact stationary Gaussian of each class (FFT sampling from the shift-averaged power spectrum): it
#    keeps each class's spectrum and nothing else.
# 3. **Gaussian textures.** `texture-short`: the NLGP's Gaussian field itself (p = 1), classes of correlation length
#    2 and 3 px — classes differ at short range. **Its result is already recorded** (`book/recorded/scale/dose-p1.json`,
#    two seeds: 97.5 % of units detected), so its prediction is not blind; it is rerun here with three seeds and the
#    paper's RF width. `texture-long` (dataset `gaussian-longrange`): a Gaussian field whose class-0 images repeat
#    half a side to the right and class-1 images repeat with the sign flipped; both classes have the same
#    covariance at every displacement except near half the side (12 px), so no 5×5 window carries class signal,
#    while a unit adding pixels 12 px apart reads the class exactly.
# 4. **Shuffled labels** of task 1 (`fm-shuffled`: `data.options.shuffle_labels=true`): the inputs keep every
#    statistic, the labels carry none (a control).
#
# **Data-only check of the design before the predictions** (the local readability of the *data*, 8,000 training
# rows, seed 0; `impkit.decisive.readability_of`): `texture-long` 0.517 against a chance level of 0.507 (no local
# signal, as designed); `texture-short` 0.972 (chance 0.515); Fashion-MNIST 0.495 (chance 0.109);
# Fashion-MNIST translated 0.150 (chance 0.113: little local signal once the garments are shifted — 3.7 points,
# below the 5-point margin, so H′ predicts that IMP does **not** localise on the translated data, where H, with
# its non-Gaussian pixels, predicts that it does). No clone's readability was computed before this section was
# committed.
#
# ## Preconditions
#
# A task speaks to C2 only if IMP selects something on the data: **IMP's sparse networks beat random masks in test
# accuracy on the data at the last round** (paired over seeds, margin one point, the calibrated rule:
# *reproduced*). Where this fails the task's C2 verdicts are reported but not counted for either hypothesis. The
# shuffled-label control is expected to fail it (test accuracy at chance): it asks only what IMP's masks look like
# when nothing in the labels can be read, locally or globally.
#
# ## Predictions
#
# Primary statistic: the paper's RF width (median over units of σx, `sigma_paper_median`, last round); C2a = σx on
# the clone minus on the data (unpaired, δ = 1 px), C2b = σx of random masks minus IMP's, both on the clone
# (paired, δ = 1 px); "localises" = the same as C2b on the data. A verdict is *reproduced* when the effect is
# reliably above δ, *not reproduced* when reliably within ±δ (three seeds may leave it *inconclusive*).
# "readability" below: H′ predicts localisation on the clone (C2b reproduced, C2a not) if the clone's best window
# reads the class at least 5 points above chance (`decisive.READ_MARGIN`), and no localisation (C2b not reproduced)
# otherwise. A further explanation of the paper's own C2 — **R**: the ~100-image clone is rank-deficient and IMP
# solves it with the global subspace cue — predicts C2b *not reproduced* on `fm-fit100` but *reproduced* on `fm`
# and `fm-fit100-shrunk`.

# %%
pred_rows = []
for slug in tasks:
    p = decisive.PREDICTIONS.get(slug, {})
    for hyp in ("H", "H′"):
        pred_rows.append({"task": slug, "hypothesis": hyp, **{k: v for k, v in p.get(hyp, {}).items()}})
display(table(pd.DataFrame(pred_rows).set_index(["task", "hypothesis"]),
              title="Predicted verdicts (written before any result)"))

# %% [markdown]
# ### Predictions added later: C3b and C4
#
# **These two predictions were written after the C2 results of `fm`, `fm-fit100`, `fm-fit100-shrunk`,
# `texture-short` and `texture-long` were known** (the format-1 recordings below), and before any one-shot run or
# cavity score of these tasks existed; they are committed before their numbers and kept apart from the blind
# predictions above, with their own tally. C3b: |κ − 3| of IMP's first-layer preactivations minus one-shot's
# (per-class kurtosis at the rewind point, paired, δ = 0.1); C4: the share of fate groups whose mean cavity score is
# positive the round before IMP removes them, minus the same share with fates shuffled within bins of
# |θ(t_rewind)| (IMP runs, paired, δ = 0.1): the scale study's statistics and rules (`impkit.scale.claim_effects`).
# Each is judged on the data and, where there is one, on the clone (`_clone`).
#
# * **C3b on a clone or a Gaussian texture** cannot separate H and H′: every class is Gaussian there, so every
#   linear projection is Gaussian per class and its per-class kurtosis is 3 whatever the mask. Both predict *not
#   reproduced*; it checks the measurement.
# * **C3b on non-Gaussian data**: H (IMP seeks the higher cumulants) predicts *reproduced*; H′ says nothing.
# * **C4** uses the pooled kurtosis of all classes. H reads it as IMP following the input's non-Gaussianity:
#   *reproduced* on non-Gaussian data, *not reproduced* where each class is Gaussian (the clones, the textures).
#   H′ reads it as a property of how training moves the weights, the same on Gaussian inputs: the clone's verdict
#   equals the data's ("as data"), and the Gaussian texture's is *reproduced*. This is **not blind for
#   `texture-short`**: its task is the Gaussian field of `book/recorded/scale/dose-p1.json`, where C4 is already
#   recorded *reproduced* (+0.42) and C3b *not reproduced* (+0.007).
# * `fm-shuffled`: H says nothing about either; the clone's classes are all the pooled Gaussian, so C3b on the
#   clone is *not reproduced* by construction. `texture-long` already failed its precondition and counts for
#   neither.
#
# The same precondition gates the tally: only tasks where IMP beats random masks on the data are scored.

# %%
late_rows = []
for slug in tasks:
    p = decisive.LATE_PREDICTIONS.get(slug, {})
    for hyp in ("H", "H′"):
        late_rows.append({"task": slug, "hypothesis": hyp, **{k: p.get(hyp, {}).get(k, "-")
                                                              for k in decisive.LATE_STATS}})
display(table(pd.DataFrame(late_rows).set_index(["task", "hypothesis"]),
              title="Predicted verdicts for C3b and C4 (written after the C2 results, before their own)"))

# %% [markdown]
# ## Results
#
# The runs are too long for `make book` on two shared CPU cores (the table below gives each recording's wall time). They were
# recorded once, after the predictions above were committed, with
#
# ```
# python -m impkit.decisive record fm fm-fit100 fm-fit100-shrunk fm-translated texture-short texture-long fm-shuffled --root runs
# ```
#
# (Fashion-MNIST from the Debian package `dataset-fashion-mnist`), and this page reads the summaries in
# `book/recorded/decisive/` with their provenance: it needs neither the runs nor the data.

# %%
rec = decisive.load_recorded(recorded_dir or decisive.RECORDED_DIR)
shown = [s for s in tasks if s in rec]
missing = [s for s in tasks if s not in rec]
glue("dec_n_recorded", len(shown), display=False)
prov = []
for s in shown:
    pv = rec[s].get("provenance", {})
    prov.append({"task": s, "seeds": len(rec[s]["seeds"]), "recorded": str(pv.get("date", "?"))[:16],
                 "device": pv.get("device", "?"), "minutes": (pv.get("wall_s") or float("nan")) / 60,
                 "commit": pv.get("commit", "?")})
if prov:
    display(table(pd.DataFrame(prov).set_index("task"), integer=["seeds"], digits=1,
                  title="Recordings (book/recorded/decisive/*.json)"))
if missing:
    report(f"Not recorded: {', '.join(missing)} (regenerate with `python -m impkit.decisive record "
           f"{' '.join(missing)} --root runs`).")


# %%
def nmean(a, axis=0):
    """Mean over ``axis`` of the finite entries (NaN, without a warning, where there is none: the RF width at
    round 0, whose masks are full)."""
    a = np.asarray(a, dtype=float)
    n = np.isfinite(a).sum(axis)
    return np.where(n > 0, np.nansum(a, axis) / np.maximum(n, 1), np.nan)


def k_(s):
    """A task slug as a glue key part (hyphens -> underscores)."""
    return s.replace("-", "_")


def last_mean(s, cond, m, i=-1):
    """Mean over seeds of measure ``m`` of condition ``cond`` at round index ``i``; a Gaussian texture is its own
    clone (no clone arm: its clone conditions are its data conditions)."""
    c = rec[s]["curves"]
    cond = cond if cond in c else cond.removesuffix("_clone")
    if cond not in c or m not in c[cond]:  # no one-shot in format 1; kurtosis for IMP and one-shot only
        return float("nan")
    return float(nmean(np.asarray(c[cond][m], dtype=float)[:, i]))


def readable(s, side):
    r = rec[s]["readability"][side]
    return r["best"] - r["chance"] >= decisive.READ_MARGIN


acc_rows, read_rows = [], []
for s in shown:
    acc_rows.append({"task": s, "dense data": last_mean(s, "imp", "test_acc", 0),
                     "IMP data": last_mean(s, "imp", "test_acc"), "one-shot data": last_mean(s, "oneshot", "test_acc"),
                     "random data": last_mean(s, "random", "test_acc"),
                     "dense clone": last_mean(s, "imp_clone", "test_acc", 0),
                     "IMP clone": last_mean(s, "imp_clone", "test_acc"),
                     "one-shot clone": last_mean(s, "oneshot_clone", "test_acc"),
                     "random clone": last_mean(s, "random_clone", "test_acc")})
    rd = rec[s]["readability"]
    read_rows.append({"task": s, "chance": rd["data"]["chance"], "data best": rd["data"]["best"],
                      "data mean": rd["data"]["mean"], "clone best": rd["clone"]["best"],
                      "clone mean": rd["clone"]["mean"],
                      "best windows d/c": "{},{} / {},{}".format(*rd["data"]["best_window"], *rd["clone"]["best_window"]),
                      "readable d/c": f"{'yes' if readable(s, 'data') else 'no'}/"
                                                                        f"{'yes' if readable(s, 'clone') else 'no'}"})
    for side in ("data", "clone"):
        glue(f"dec_{k_(s)}_read_{side}", rd[side]["best"], display=False)
        glue(f"dec_{k_(s)}_read_{side}_mean", rd[side]["mean"], display=False)
        glue(f"dec_{k_(s)}_read_{side}_window", "row {}, column {}".format(*rd[side]["best_window"]), display=False)
    glue(f"dec_{k_(s)}_read_chance", rd["data"]["chance"], display=False)
    for k in ("dense data", "IMP data", "one-shot data", "random data", "IMP clone", "one-shot clone", "random clone",
              "dense clone"):
        glue(f"dec_{k_(s)}_acc_{k.replace(' ', '_').replace('-', '')}", acc_rows[-1][k], display=False)
if shown:
    display(table(pd.DataFrame(acc_rows).set_index("task"),
                  title="Test accuracy (mean over seeds): dense = round 0, IMP/random = last round"))
    display(table(pd.DataFrame(read_rows).set_index("task"),
                  title=f"Local readability: {decisive.READ_K}×{decisive.READ_K} windows, quadratic discriminant, "
                        "held-out accuracy (best window chosen on a separate split; mean over windows)"))

# %% [markdown]
# ## Locality against accuracy, round by round
#
# The paper's RF width (median σx over units) of each condition against its test accuracy, one point per round
# (mean over seeds; rounds run from the right, dense, to the left, sparse, for IMP). Data solid, clone dashed; IMP
# in its colour, random masks grey. Data and clone are compared at equal accuracy only where their accuracy ranges
# overlap (the table below the figure says where they do).

# %%
import matplotlib.pyplot as plt

if shown:
    ncol = min(4, len(shown))
    nrow = int(np.ceil(len(shown) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.9 * nrow), squeeze=False)
    for ax, s in zip(axes.ravel(), shown):
        c = rec[s]["curves"]
        for cond, col, ls in (("imp", plotting.method_color("imp"), "-"), ("imp_clone", plotting.method_color("imp"), "--"),
                              ("oneshot", plotting.method_color("oneshot"), "-"),
                              ("oneshot_clone", plotting.method_color("oneshot"), "--"),
                              ("random", "0.55", "-"), ("random_clone", "0.55", "--")):
            if cond not in c:
                continue
            acc, w = nmean(c[cond]["test_acc"]), nmean(c[cond]["sigma_paper_median"])
            ax.plot(acc, w, ls, color=col, marker="o", ms=2.5, lw=1.2, label=cond.replace("_", " "))
        ax.set_title(s, fontsize=9)
        ax.set_xlabel("test accuracy", fontsize=8)
        ax.set_ylabel("RF width σx (px)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(shown):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    plt.show()
    ov = []
    for s in shown:
        o = rec[s]["accuracy_overlap"]
        ov.append({"task": s, "IMP data": f"{o['data'][0]:.3f}–{o['data'][1]:.3f}",
                   "IMP clone": f"{o['clone'][0]:.3f}–{o['clone'][1]:.3f}",
                   "overlap": (f"{o['overlap'][0]:.3f}–{o['overlap'][1]:.3f}" if isinstance(o["overlap"], list)
                               else "none")})  # null in the JSON (read as NaN): no overlap
        for k in ("IMP data", "IMP clone", "overlap"):
            glue(f"dec_{k_(s)}_range_{k.replace(' ', '_')}", ov[-1][k], display=False)
    display(table(pd.DataFrame(ov).set_index("task"), title="Accuracy ranges of IMP over rounds"))

# %% [markdown]
# ## Verdicts
#
# Per task: the precondition (IMP beats random masks in accuracy on the data), whether IMP localises on the data
# (random minus IMP RF width), C2a and C2b on the paper's RF width, each an effect with its 90 % interval and
# margin; then the robustness measures of the data-vs-clone contrast (detection rate, width over detected units,
# locality index; they do not vote) and the preactivation kurtosis (IMP's |κ − 3| at the last round minus at
# round 0, on data and clone).

# %%
# NBVAL_CHECK_OUTPUT
def eff(s, key):
    d = dict(rec[s]["effects"][key])
    d["values"] = tuple(d.get("values") or ())
    return verdicts.Effect(**d)


def h_prime(s, stat):
    """H′'s prediction of ``stat`` for task ``s``, "readability" resolved by the measured readability."""
    p = decisive.PREDICTIONS[s]["H′"][stat]
    if p != "readability":
        return p
    rd, rc = readable(s, "data"), readable(s, "clone")
    return {"localises": rd, "C2b": rc, "C2a": rd and not rc}[stat] and verdicts.REPRODUCED or verdicts.NOT_REPRODUCED


vrows, rrows = [], []
score = {"H": {"agree": 0, "against": 0, "open": 0}, "H′": {"agree": 0, "against": 0, "open": 0}}
lines = []
for s in shown:
    pre = eff(s, "precondition")
    met = pre.verdict == verdicts.REPRODUCED
    vrows.append({"task": s, "precondition": f"{pre.text}: {pre.verdict}",
                  "localises (data)": f"{eff(s, 'localises').text}: {eff(s, 'localises').verdict}",
                  "C2a": f"{eff(s, 'C2a').text}: {eff(s, 'C2a').verdict}",
                  "C2b": f"{eff(s, 'C2b').text}: {eff(s, 'C2b').verdict}"})
    rrows.append({"task": s, **{k: f"{eff(s, k).mean:+.3f}: {eff(s, k).verdict}"
                                for k in ("detection", "width_x", "li", "kurt_rises", "kurt_rises_clone")}})
    for k in rec[s]["effects"]:
        e = eff(s, k)
        glue(f"dec_{k_(s)}_{k}", e.text, display=False)
        glue(f"dec_{k_(s)}_{k}_verdict", e.verdict, display=False)
    for cond in ("imp", "imp_clone", "random", "random_clone"):
        for m, short in (("frac_detected", "det"), ("sigma_paper_median", "w"), ("li_mean", "li"),
                         ("kurt_class", "kurt")):
            glue(f"dec_{k_(s)}_{short}_{cond}", last_mean(s, cond, m), display=False)
    glue(f"dec_{k_(s)}_kurt_imp_0", last_mean(s, "imp", "kurt_class", 0), display=False)
    if not met:
        lines.append(f"{s}: precondition not met ({pre.verdict}); its C2 verdicts count for neither hypothesis.")
        continue
    for hyp in ("H", "H′"):
        for stat in ("localises", "C2a", "C2b"):
            pred = decisive.PREDICTIONS[s][hyp][stat] if hyp == "H" else h_prime(s, stat)
            got = eff(s, stat).verdict
            if pred == "any":
                continue
            if got in (verdicts.INCONCLUSIVE, verdicts.UNDEFINED):
                score[hyp]["open"] += 1
            elif got == pred:
                score[hyp]["agree"] += 1
            else:
                score[hyp]["against"] += 1
if vrows:
    display(table(pd.DataFrame(vrows).set_index("task"), title="Primary verdicts (paper's RF width, last round)"))
    display(table(pd.DataFrame(rrows).set_index("task"),
                  title="Robustness (data − clone of IMP; width: clone − data) and kurtosis change (do not vote)"))
for hyp in ("H", "H′"):
    for k, v in score[hyp].items():
        glue(f"dec_score_{'Hp' if hyp == 'H′' else 'H'}_{k}", v, display=False)
summary = [f"Of the predictions that the tasks meeting the precondition could test (localises, C2a, C2b per task), "
           f"H got {score['H']['agree']} right and {score['H']['against']} wrong ({score['H']['open']} "
           f"inconclusive); H′ got {score['H′']['agree']} right and {score['H′']['against']} wrong "
           f"({score['H′']['open']} inconclusive)."]
report(summary, lines) if shown else report("No task recorded yet.")

# %% [markdown]
# ### C3b and C4 (predictions added after the C2 results)
#
# Per task: C3b (|κ − 3| of IMP minus one-shot, per-class kurtosis at the rewind point) and C4 (IMP's on-time
# share of positive cavity scores minus its magnitude-binned fate shuffle), on the data and on the clone, each
# effect with its 90 % interval and verdict; C3b's count-matched null (IMP's per-unit counts at random places: if
# C3b lies within it, IMP's counts alone explain it) and C3a (one-shot minus IMP mean RF width) are shown and do
# not vote. A format-1 recording (no one-shot runs) reads "not judged". The tally scores the predictions above
# over the tasks that meet the precondition.

# %%
# NBVAL_CHECK_OUTPUT
NOT_JUDGED = "not judged (recorded without one-shot)"
late_show = ("C3b", "C3b_clone", "C4", "C4_clone", "C3b_count_null", "C3a", "C3a_clone")
lrows = []
for s in shown:
    row = {"task": s}
    for k in late_show:
        if decisive.judges(rec[s], k):
            e = eff(s, k)
            row[k] = f"{e.text}: {e.verdict}" if np.isfinite(e.mean) else e.verdict
        else:
            row[k] = NOT_JUDGED
            glue(f"dec_{k_(s)}_{k}", NOT_JUDGED, display=False)
            glue(f"dec_{k_(s)}_{k}_verdict", NOT_JUDGED, display=False)
    lrows.append(row)
late = decisive.late_tally({s: rec[s] for s in shown})
for hyp in ("H", "H′"):
    for k in ("agree", "against", "open"):
        glue(f"dec_late_{'Hp' if hyp == 'H′' else 'H'}_{k}", late[hyp][k], display=False)
judged = [s for s in shown if decisive.judges(rec[s], "C3b")]
glue("dec_late_judged", ", ".join(judged) or "none", display=False)
if lrows:
    display(table(pd.DataFrame(lrows).set_index("task"), title="C3b and C4 at the last round (C3a and the count "
                                                              "null do not vote)"))
if late["rows"]:
    display(table(pd.DataFrame(late["rows"]).set_index(["task", "stat"]),
                  title="C3b/C4: predicted and found (counted: the task meets the precondition)"))
if shown:
    report([f"C3b/C4 are judged on {len(judged)} of {len(shown)} recorded tasks ({', '.join(judged) or 'none'}). "
            f"Of the predictions added after the C2 results, H got {late['H']['agree']} right and {late['H']['against']} "
            f"wrong ({late['H']['open']} inconclusive); H′ got {late['H′']['agree']} right and "
            f"{late['H′']['against']} wrong ({late['H′']['open']} inconclusive)."])

# %% [markdown]
# ## What the results say
#
# All seven tasks are recorded in format 2 (IMP, one-shot and random, three seeds); C2's runs are the ones of the
# first recordings, reused, so its verdicts did not change when one-shot was added.
#
# **Fashion-MNIST, clone on all rows (`fm`).** The precondition holds: IMP's sparse networks beat random masks on
# the data by {glue:text}`dec_fm_precondition` in accuracy (IMP {glue:text}`dec_fm_acc_IMP_data:.3f`, one-shot
# {glue:text}`dec_fm_acc_oneshot_data:.3f`, random {glue:text}`dec_fm_acc_random_data:.3f`, dense
# {glue:text}`dec_fm_acc_dense_data:.3f`), and IMP localises there (random minus IMP RF width
# {glue:text}`dec_fm_localises`). On the Gaussian clone IMP localises just as much: C2b = {glue:text}`dec_fm_C2b`
# (**{glue:text}`dec_fm_C2b_verdict`**, where the paper finds *not reproduced*), and the data are not narrower than
# the clone: C2a = {glue:text}`dec_fm_C2a` (**{glue:text}`dec_fm_C2a_verdict`**; the estimate points the other
# way). The locality index even calls the clone the more local ({glue:text}`dec_fm_li`,
# **{glue:text}`dec_fm_li_verdict`** for "data more local"). The clone is also the more locally readable — its best
# 5×5 window reads the class with {glue:text}`dec_fm_read_clone:.3f` accuracy against
# {glue:text}`dec_fm_read_data:.3f` on the data (chance {glue:text}`dec_fm_read_chance:.3f`; mean over windows
# {glue:text}`dec_fm_read_clone_mean:.3f` against {glue:text}`dec_fm_read_data_mean:.3f`) — and the easier task
# (IMP {glue:text}`dec_fm_acc_IMP_clone:.3f` on the clone), so the accuracy ranges of data and clone do not overlap
# and the widths are compared at unequal accuracy.
#
# **The paper's clone, 100 images per class (`fm-fit100`).** Rank-99 classes do not remove the localisation: C2b =
# {glue:text}`dec_fm_fit100_C2b` (**{glue:text}`dec_fm_fit100_C2b_verdict`**), C2a = {glue:text}`dec_fm_fit100_C2a`
# (**{glue:text}`dec_fm_fit100_C2a_verdict`**: the clone is, if anything, narrower). Its windows read the class
# with {glue:text}`dec_fm_fit100_read_clone:.3f` accuracy. So the explanation R of the predictions (the paper's C2
# comes from the rank-deficient clone's global cue) fails here: the low-rank clone localises as the full one does.
# Shrunk to full rank (`fm-fit100-shrunk`) the clone still localises: C2b = {glue:text}`dec_fm_fit100_shrunk_C2b`
# (**{glue:text}`dec_fm_fit100_shrunk_C2b_verdict`**), C2a = {glue:text}`dec_fm_fit100_shrunk_C2a`
# (**{glue:text}`dec_fm_fit100_shrunk_C2a_verdict`**), its windows reading the class with
# {glue:text}`dec_fm_fit100_shrunk_read_clone:.3f` accuracy; here the locality index does call the data the more
# local ({glue:text}`dec_fm_fit100_shrunk_li`, **{glue:text}`dec_fm_fit100_shrunk_li_verdict`**), a robustness
# measure that does not vote. A caveat on the readability of these clones: the best window of the `fm` and
# `fm-fit100` clones lies on the image border ({glue:text}`dec_fm_read_clone_window` and
# {glue:text}`dec_fm_fit100_read_clone_window`), where Fashion-MNIST is nearly always blank; there each class's
# fitted covariance rests on the few images with ink, and a quadratic discriminant can read that class-specific
# support. The shuffled-label control below shows the same effect with no class signal at all.
#
# **Fashion-MNIST translated (`fm-translated`).** Shifting and flipping the garments leaves the classes hard to
# tell apart (dense accuracy {glue:text}`dec_fm_translated_acc_dense_data:.3f`) but IMP still selects: its sparse
# networks beat random masks by {glue:text}`dec_fm_translated_precondition` (IMP
# {glue:text}`dec_fm_translated_acc_IMP_data:.3f`, one-shot {glue:text}`dec_fm_translated_acc_oneshot_data:.3f`,
# random {glue:text}`dec_fm_translated_acc_random_data:.3f`; on the clone IMP
# {glue:text}`dec_fm_translated_acc_IMP_clone:.3f`, random {glue:text}`dec_fm_translated_acc_random_clone:.3f`).
# Data and clone are equally wide: C2a = {glue:text}`dec_fm_translated_C2a`
# (**{glue:text}`dec_fm_translated_C2a_verdict`**), against H's prediction (*reproduced*) and as H′ predicted. IMP
# narrows the RF width below random masks' by less than a pixel on both, with intervals that straddle the margin:
# on the data {glue:text}`dec_fm_translated_localises` (**{glue:text}`dec_fm_translated_localises_verdict`**), on
# the clone C2b = {glue:text}`dec_fm_translated_C2b` (**{glue:text}`dec_fm_translated_C2b_verdict`**); IMP's median
# width ends at {glue:text}`dec_fm_translated_w_imp:.2f` px on the data and
# {glue:text}`dec_fm_translated_w_imp_clone:.2f` px on the clone (random {glue:text}`dec_fm_translated_w_random:.2f`
# px). H′ predicted no localisation on the data, whose windows barely read the class
# ({glue:text}`dec_fm_translated_read_data:.3f` against chance {glue:text}`dec_fm_translated_read_chance:.3f`), and
# localisation on the clone, whose windows do ({glue:text}`dec_fm_translated_read_clone:.3f`): neither is settled
# by three seeds. The accuracy ranges overlap only in {glue:text}`dec_fm_translated_range_overlap` (IMP on the data
# {glue:text}`dec_fm_translated_range_IMP_data`, on the clone {glue:text}`dec_fm_translated_range_IMP_clone`).
#
# **Gaussian textures.** On the Gaussian field whose classes differ at short range (`texture-short`), IMP beats
# random masks ({glue:text}`dec_texture_short_precondition`) and {glue:text}`dec_texture_short_det_imp:.3f` of its
# units have a detected local peak (random: {glue:text}`dec_texture_short_det_random:.3f`), but the paper's RF
# width narrows by {glue:text}`dec_texture_short_localises` — **{glue:text}`dec_texture_short_localises_verdict`**
# with three seeds (the estimate is above the 1 px margin, its interval not). On the texture whose classes differ
# only at long range (`texture-long`) the design worked — no 5×5 window reads the class
# ({glue:text}`dec_texture_long_read_data:.3f` against chance {glue:text}`dec_texture_long_read_chance:.3f`) — but
# the task is too easy: random masks keep {glue:text}`dec_texture_long_acc_random_data:.3f` accuracy at the last
# round (IMP {glue:text}`dec_texture_long_acc_IMP_data:.3f`), the precondition fails
# ({glue:text}`dec_texture_long_precondition`), and the task counts for neither hypothesis. For the record, IMP's RF
# width there equals random masks' ({glue:text}`dec_texture_long_localises`), while its detection rate
# ({glue:text}`dec_texture_long_det_imp:.3f`) and locality index ({glue:text}`dec_texture_long_li_imp:.2f`) say its
# masks are structured: the robustness measures and the primary one disagree on this task.
#
# **Shuffled labels (`fm-shuffled`).** As intended, nothing is learnt: test accuracy stays at chance (dense
# {glue:text}`dec_fm_shuffled_acc_dense_data:.3f`, IMP {glue:text}`dec_fm_shuffled_acc_IMP_data:.3f`, random
# {glue:text}`dec_fm_shuffled_acc_random_data:.3f`), the precondition is
# **{glue:text}`dec_fm_shuffled_precondition_verdict`** ({glue:text}`dec_fm_shuffled_precondition`), and the task
# counts for neither hypothesis. On the data IMP does not localise ({glue:text}`dec_fm_shuffled_localises`,
# **{glue:text}`dec_fm_shuffled_localises_verdict`**). On its clone, though, IMP's RF width ends below random
# masks': C2b = {glue:text}`dec_fm_shuffled_C2b` (**{glue:text}`dec_fm_shuffled_C2b_verdict`**), and the clone's
# best window reads the shuffled "class" with {glue:text}`dec_fm_shuffled_read_clone:.3f` accuracy (at
# {glue:text}`dec_fm_shuffled_read_clone_window`, a blank corner of the images; mean over windows
# {glue:text}`dec_fm_shuffled_read_clone_mean:.3f`, chance {glue:text}`dec_fm_shuffled_read_chance:.3f`). Two
# lessons, both against reading too much into the clones above: a clone fitted per class on a few thousand images
# carries class-specific structure in nearly empty pixels that a window can read and that is no property of the
# images; and C2b on a clone can read *reproduced* where the network learns nothing that generalises (IMP
# {glue:text}`dec_fm_shuffled_acc_IMP_clone:.3f` on the clone's test split).
#
# **C3b and C4 (predictions written after the C2 results).** On every clone C3b is *not reproduced*, as both
# hypotheses required of a per-class Gaussian input (`fm` {glue:text}`dec_fm_C3b_clone`, `fm-translated`
# {glue:text}`dec_fm_translated_C3b_clone`): the measurement passes its check. On the Fashion-MNIST data C3b is
# **{glue:text}`dec_fm_C3b_verdict`** ({glue:text}`dec_fm_C3b`): IMP's per-class kurtosis rises far above 3
# (|κ − 3| up by {glue:text}`dec_fm_kurt_rises` from round 0) but so unevenly across seeds that the interval spans
# both signs, and the count-matched null is wider still ({glue:text}`dec_fm_C3b_count_null`). On the translated data
# C3b is **{glue:text}`dec_fm_translated_C3b_verdict`** ({glue:text}`dec_fm_translated_C3b`): IMP's preactivations
# end *closer* to Gaussian than one-shot's, against H. C4 does not need non-Gaussian classes: it is
# **{glue:text}`dec_fm_translated_C4_clone_verdict`** on the translated clone ({glue:text}`dec_fm_translated_C4_clone`;
# data {glue:text}`dec_fm_translated_C4`), **{glue:text}`dec_fm_C4_clone_verdict`** on the `fm` clone
# ({glue:text}`dec_fm_C4_clone`) and **{glue:text}`dec_fm_fit100_C4_clone_verdict`** on the `fm-fit100` clone
# ({glue:text}`dec_fm_fit100_C4_clone`), while on the Fashion-MNIST data it is
# **{glue:text}`dec_fm_C4_verdict`** ({glue:text}`dec_fm_C4`), and on the Gaussian texture
# **{glue:text}`dec_texture_short_C4_verdict`** ({glue:text}`dec_texture_short_C4`; known before, from the scale
# study's Gaussian field). Scored as written: H {glue:text}`dec_late_H_agree` right, {glue:text}`dec_late_H_against`
# wrong ({glue:text}`dec_late_H_open` inconclusive); H′ {glue:text}`dec_late_Hp_agree` right,
# {glue:text}`dec_late_Hp_against` wrong ({glue:text}`dec_late_Hp_open` inconclusive). Most of H′'s are the checks
# both hypotheses share (C3b on a Gaussian input); where they differ, H is wrong on C4 on the translated clone and on
# the Gaussian texture, and on C3b on the translated data, and H′ right on the first two (it does not predict the
# third); on the `fm` and `fm-fit100` clones H is wrong and H′, whose prediction follows the data's inconclusive C4,
# is not scored.
#
# **Tally of the blind predictions.** Over the tasks that meet the precondition, H′ got
# {glue:text}`dec_score_Hp_agree` predictions right and {glue:text}`dec_score_Hp_against` wrong, H
# {glue:text}`dec_score_H_agree` right and {glue:text}`dec_score_H_against` wrong (inconclusive:
# {glue:text}`dec_score_Hp_open` and {glue:text}`dec_score_H_open`). On real images at this scale, a Gaussian clone
# with each class's mean and covariance is enough for IMP to find local receptive fields, and neither the
# translated Fashion-MNIST nor C3b/C4 show a role for the higher cumulants: the evidence supports **H′** over H.
# Two cautions limit it: on the translated task, the one designed to separate them on real images, IMP's
# localisation is under a pixel on data and clone alike and three seeds leave it inconclusive; and the
# shuffled-label clone shows that a clone's C2b can read *reproduced* without a class signal the network learns.
#
# **Not measured here.** The settling experiment is the paper's own task at its own scale, with the same
# predictions: `python -m impkit.decisive record in32 in32-fit100 --root runs --device cuda` (ImageNet32, the
# paper's network and training, clones on all rows and on 100 images per class; about 15 h on two CPU cores, so a
# GPU).
