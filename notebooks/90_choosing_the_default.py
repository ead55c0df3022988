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
# # Appendix · Choosing the default experiment
#
# The paper's setting (ImageNet32, a 3072:1024:1024:1000 network, 40,000 steps per round) needs a GPU. The book's
# embedded default must instead show the phenomena — or their absence — on two CPU cores in minutes. This notebook
# documents the screen of candidate tasks behind that choice and repeats it in every build, at the build's preset:
# each candidate task is trained with IMP, one-shot and random pruning, on the data and on its Gaussian clone, and
# scored by how clearly the paper's two locality contrasts appear per minute of training. The preset's own task is
# the first candidate; the decision below says whether it still ranks first, and the introduction quotes that
# answer whichever it is.
#
# - **C3 contrast**: IMP masks more local than random masks;
# - **C2 contrast**: IMP masks more local on the data than on its Gaussian clone.
#
# Locality is scored by the share of first-layer units whose mask has a detected local peak (the detection rate of
# the RF-width test, about 0.05 for random masks): it is defined for every condition, whereas an RF width exists
# only where some units have a peak. A useful task must show both contrasts, so the score is the *smaller* of the
# two detection-rate gaps per minute of training. The same two contrasts in the locality index (LI, 1 = random)
# and in RF width over detected units (as a fraction of the image side; nan where undefined) are shown beside it.
# Tasks are also judged on accuracy: a task that is solved perfectly, or not at all, says little. Pilot runs before
# this sweep had already ruled out a few settings (see the methods page): NLGP classes differing only in very short
# correlation lengths, where the class information is second-order and the clone localises just as well; tasks so
# easy that nothing localises; and Fashion-MNIST or photo-scene tasks trained briefly.
#
# **Recorded rows.** Six of the nine candidates are not trained by the build. Fashion-MNIST: its data are a system
# package (`dataset-fashion-mnist`) that not every machine has, and its six runs would take about 4.5 minutes. The
# erf g = 3 and g = 1 fields, the ξ 1 vs 2 field, twice the training and the photo patches: together about 4 minutes,
# which the book's 15-minute budget no longer has room for (README, "The book's time budget"). Their rows were
# computed once by the same screen (`python -m impkit.sweep record recorded`) and are read from
# `book/recorded/screen/SLUG.json`; the "source" column says which rows are recorded, with the
# date, device and wall time of the recording. So the book is the same with or without the package installed.
#
# **Why the default changed.** Until 2026-11-24 the preset's task was the NLGP through a saturating erf at gain 10,
# whose pixels are *sub*-Gaussian (kurtosis 1.07). This screen then ranked first the same field through the
# expanding signed square, whose pixels are heavy-tailed like natural images' (kurtosis 11.7); on that task C4
# reproduced where the erf task's was "partly reproduced" (under the verdict rules of the time, which had no null and
# were replaced in wave 3; today's verdicts for both tasks are on the scale-study page), and the kurtosis claim C3b
# can be tested in the paper's sense, preactivations above 3. So the preset now uses the heavy-tailed task, and the erf
# task is a candidate like the others (and the first task of the scale-study page). The decision below says, in
# every build, whether the preset's task still ranks first.
#
# At the `paper` preset the screen has one candidate, the paper's own setting (Table S1 on ImageNet32 and its
# per-channel clone), reusing the runs of the IMP-runs page: its row is the reference the small tasks are meant to
# imitate. Variants (e.g. `{"model.input_bn": True, "model.init": "glorot_normal"}`, the official code's
# input batch-norm and initialisation) can be screened at that scale by passing `candidates`.

# %% tags=["parameters"]
preset = "default"        # sizes of every candidate come from this preset, plus each candidate's overrides
seeds = [0]               # one seed per candidate: this is a screen, the claims pages use the preset's seeds
run_root = "../runs"
device = "auto"
overrides = {}            # dotted config overrides applied to every candidate (a candidate's own ones win)
candidates = None         # None: the list for this preset below; else [[name, dataset, {overrides}], ...]; a 4th
                          # entry names a recorded row (book/recorded/screen/SLUG.json) read instead of training

# %%
# %matplotlib inline
import pandas as pd
from myst_nb import glue

from impkit import verdicts
from impkit.display import report, table
from impkit.params import as_dict, as_list
from impkit.presets import PRESETS
from impkit.sweep import RECORDED, Candidate, screen

seeds = as_list(seeds, "seeds", item=int) or [0]
overrides = as_dict(overrides, "overrides")
candidates = as_list(candidates, "candidates")
if candidates is None:
    if preset == "paper":
        candidates = [["ImageNet32, Table S1 (the paper's setting)", PRESETS[preset]["dataset"], {}]]
    elif preset == "ci":
        candidates = [
            ["NLGP 2-D, signed square (the preset's task)", "nlgp", {}],
            ["NLGP 2-D, erf g=10", "nlgp", {"data.options.nonlinearity": "erf"}],
        ]
    else:
        erf = {"data.options.nonlinearity": "erf"}
        # Trained by this build: the preset's task, the earlier default and the 1-D field. The others are read
        # from recorded rows (`python -m impkit.sweep record recorded`; "source" says so): Fashion-MNIST because
        # its data are a system package not every machine has, the rest because training them would take about
        # 4 of the book's 15 minutes (README, "The book's time budget").
        def rec(slug):
            c = RECORDED[slug][0]
            return [c.name, c.dataset, c.overrides, slug]
        candidates = [
            ["NLGP 2-D, ξ 2 vs 3, signed square (the preset's task)", "nlgp", {}],
            ["NLGP 2-D, ξ 2 vs 3, erf g=10 (the earlier default)", "nlgp", erf],
            rec("nlgp-erf-g3"), rec("nlgp-erf-g1"), rec("nlgp-xi12"), rec("nlgp-steps2x"),
            ["NLGP 1-D, L=256, signed square", "nlgp", {"data.options.dim": 1, "data.options.L": 256}],
            rec("fashion-mnist"), rec("photos-24"),
        ]
cands = [Candidate(n, d, {**overrides, **as_dict(o, f"candidate {n!r} overrides")}, *rec)
         for n, d, o, *rec in candidates]
rows = screen(cands, preset, seeds=seeds, root=run_root, device=device)
screened = pd.DataFrame(rows).set_index("candidate")
for name, status in screened["status"].items():
    if status != "ok":
        print(f"{name}: {status}")
screened = screened[screened["status"] == "ok"]

# %% [markdown]
# ## The screen
# All measured at the last round ({glue:text}`sweep_sparsity:.0f` % first-layer sparsity). First the decisive
# numbers: the score (the detection-rate gap per minute of training), the gap itself, the training time of the six
# runs of a candidate (runs trained inside a larger batch are charged their share of it) and the held-out accuracy
# of the dense network and of IMP's last round; "source" says whether the row was measured by this build or recorded.

# %%
GAP = "smaller gap"
decisive = pd.DataFrame({
    "score (gap per minute)": screened["det_gap_per_min"], "detection-rate gap": screened["det_gap"],
    "minutes": screened["minutes"], "dense accuracy": screened["dense_acc"], "IMP accuracy": screened["imp_acc"],
    "source": screened["source"],
})
table(decisive, digits=3)

# %% [markdown]
# The measurements behind the gaps. The detection rate is the share of units with a detected local peak (random
# masks: about 0.05); the locality index (LI) is 1 for random masks; RF widths $\sigma$ are means over the
# detected units, in pixels (nan: no unit has one), and their gap is a fraction of the image side. "smaller gap" is
# the smaller of the C3 contrast (IMP − random) and the C2 contrast (IMP − IMP on the clone; for widths, clone −
# IMP).

# %%
task = pd.DataFrame({"image": screened["image"], "classes": screened["classes"]})
det = pd.DataFrame({"IMP": screened["det_imp"], "one-shot": screened["det_oneshot"], "random": screened["det_random"],
                    "IMP (clone)": screened["det_imp_clone"], GAP: screened["det_gap"]})
li = pd.DataFrame({"IMP": screened["li_imp"], "random": screened["li_random"], "IMP (clone)": screened["li_imp_clone"],
                   GAP: screened["li_gap"]})
width = pd.DataFrame({"IMP": screened["sigma_imp"], "IMP (clone)": screened["sigma_imp_clone"],
                      GAP: screened["width_gap"]})
display(table(task, title="the tasks"))
display(table(det, title="detection rate"))
display(table(li, title="locality index"))
table(width, title="RF width σ (px)")

# %% [markdown]
# ## Decision

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
# Candidates qualify when the dense network's held-out accuracy is more than a quarter of the way from chance to
# perfect and below 99 %; the best qualifying candidate by detection-rate gap per minute is the recommendation
# (impkit.verdicts.default_choice). The preset's task is the first candidate.
choice = verdicts.default_choice(list(screened.index), screened["classes"], screened["dense_acc"],
                                 screened["det_gap_per_min"])
best, default_name = choice.best, choice.preset_task
glue("sweep_best", best, display=False)
glue("sweep_default", default_name, display=False)
glue("sweep_n", len(screened), display=False)
glue("sweep_default_gap", float(screened.loc[default_name, "det_gap"]), display=False)
glue("sweep_default_li_gap", float(screened.loc[default_name, "li_gap"]), display=False)
glue("sweep_default_minutes", float(screened.loc[default_name, "minutes"]), display=False)
glue("sweep_sparsity", 100 * float(screened.loc[default_name, "sparsity"]), display=False)
glue("sweep_best_is_default", "is" if choice.preset_is_best else "is not", display=False)
glue("sweep_default_standing", choice.preset_standing, display=False)
glue("sweep_seeds", f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}", display=False)
KEPT = "The preset is fixed in impkit.presets and a build does not change it; the claim pages use it either way."
if choice.preset_rank == 1:
    outcome = f"The screen confirms the preset's task: it is {choice.preset_standing}."
elif choice.preset_rank is None:
    outcome = ("The screen does not confirm the preset's task: its dense accuracy is outside the range a useful task "
               f"needs{'' if choice.preset_is_best else f', and “{best}” ranks first'}. {KEPT}")
else:
    outcome = (f"The screen does not confirm the preset's task: “{best}” ranks first, and the preset's task is "
               f"{choice.preset_standing}. {KEPT}")
glue("sweep_outcome", outcome, display=False)
report(f"**Best by detection-rate gap per minute: {best}.** {outcome}",
       "Not qualifying (dense accuracy ≥ 99 % or within a quarter of chance): "
       + (", ".join(n for n, q in choice.qualifies.items() if not q) or "none") + ".")

# %% [markdown]
# Of {glue:text}`sweep_n` candidates, the best by detection-rate gap per minute is **{glue:text}`sweep_best`**; the
# preset's task {glue:text}`sweep_best_is_default` that candidate (it is {glue:text}`sweep_default_standing`).
# On the preset's task the smaller of the two detection-rate gaps is {glue:text}`sweep_default_gap:.2f` of the
# units (in LI: {glue:text}`sweep_default_li_gap:.2f`) after {glue:text}`sweep_default_minutes:.2f` minutes of
# training for {glue:text}`sweep_seeds` of each method on data
# and clone.
