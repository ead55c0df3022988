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
# # Beyond the paper · Do other sparsifiers find local receptive fields?
#
# **The question.** Redman et al. explain why *iterative magnitude pruning* finds local receptive fields in a fully
# connected network: it keeps the weights that training made large, and training on non-Gaussian inputs makes the
# weights of local patches large. Is that specific to IMP, or do other ways of making a network sparse find local
# first-layer masks too? We run five other sparsifiers under IMP's conditions — **exactly IMP's number of weights in
# every layer after every round** (the count rule of `impkit.prune`), the same network, data, minibatches and seeds
# — and measure their first-layer masks with the paper's RF width, each against **its own random null**: masks
# with the same number of weights in every unit at random positions (SNIP and SynFlow leave very uneven counts per
# unit, and locality depends on that count).
#
# **The methods** (`impkit.sparsifiers`; every choice is in its docstring). The predictions below were written
# and committed before any result of this page was computed.
#
# * **SNIP** {cite}`lee2019snip` keeps the weights with the largest $|\partial L/\partial\theta \odot \theta|$ at
#   the initialisation $\theta(0)$, on one minibatch of {glue:text}`sp_snip_inputs` training inputs, in one shot to
#   each round's counts. SNIP then trains its mask from $\theta(0)$; here, like every method, it is rewound to
#   $\theta(t_\text{rewind})$ and retrained — this changes the accuracy, not the mask. *Prediction:* a first-layer
#   gradient is $\partial L/\partial W_{ij} = \langle\delta_i x_j\rangle$, the correlation of unit $i$'s error
#   signal with pixel $j$; with spatially correlated pixels it is a smooth random image, so SNIP masks should be
#   somewhat more local than their null — on the data **and on the Gaussian clone alike**, since this only needs
#   the input covariance, which the clone keeps — and less local than IMP on the data.
# * **Iterative SNIP** {cite}`dejorge2021progressive` recomputes the same score at $\theta(0) \odot m(n-1)$ in
#   every round, with no training in between. *Prediction:* as SNIP, somewhat more local (the score sharpens as the
#   mask shrinks), again without a difference between data and clone.
# * **SynFlow** {cite}`tanaka2020synflow` is data-free: it keeps the weights with the largest synaptic flow
#   $\partial R/\partial\theta \odot \theta$, $R = \mathbf 1^\top \prod_l |W_l| \mathbf 1$, at $\theta(0)$,
#   iteratively ({glue:text}`sp_synflow_steps` score-and-prune steps per round). *Prediction, by construction:* in
#   the first layer $\partial R/\partial W_{1,ij} = c_i x_j$ with $x \equiv 1$, so the score is $c_i |W_{1,ij}(0)|$,
#   one factor per unit: within a unit SynFlow keeps the largest initial weights, which are spatially random. Its
#   first-layer masks should be **exactly as local as their null** (no effect), and only the counts per unit can
#   differ from a uniform random mask. We test the construction on the runs below.
# * **OBD** {cite}`lecun1990obd` keeps the weights with the largest saliency $\tfrac12 h_{ii}\theta_i^2$ at the
#   trained dense model $\theta(T)$ of round 0, in one shot (*OBD*), or at each round's trained weights on IMP's
#   schedule (*iterative OBD*). $h_{ii}$ is the exact diagonal of the Hessian of the loss on
#   {glue:text}`sp_obd_inputs` training inputs: for a ReLU network each output is piecewise linear in any single
#   weight, so the diagonal equals the Gauss–Newton diagonal $\sum_x J_i^\top(\operatorname{diag}p - pp^\top)J_i/N$,
#   computed without sampling (tested against the full Hessian of a tiny model to a relative $10^{-9}$).
#   *Prediction:* for a first-layer weight $h_{ij} \propto \langle s_i x_j^2\rangle$; with pixels of equal variance
#   this is roughly a per-unit factor, so OBD should behave like magnitude pruning: *OBD* like one-shot pruning and
#   *iterative OBD* like IMP (as local as IMP within the margin on the data, much less on the clone).
# * **SET** {cite}`mocanu2018set` is sparse from the start: round $n$ is an independent sparse run at round $n$'s
#   counts, from $\theta(0)$ and a uniformly random mask, for the round's steps; every
#   {glue:text}`sp_set_period` steps each layer drops the fraction $\zeta$ = {glue:text}`sp_set_zeta` of its kept
#   weights with the smallest magnitude and regrows as many at random positions (new weights start at 0); no update
#   in the last {glue:text}`sp_set_quiet` % of the round. *Prediction:* drop-by-magnitude during training is a
#   weak, within-run form of IMP; with {glue:text}`sp_set_updates` updates per round the mask can move only part of
#   the way, so SET should be **more local than its null on the data, less than IMP, and not on the clone**.
#
# **At what size.** `make book` runs this page at {glue:text}`sp_train_preset`: eight methods on the data and its
# clone at the default preset's sizes would take about twenty minutes on two CPU cores, beyond the book's budget
# (papermill `-p train_preset None` runs it at the book's preset). The default preset's results, when recorded, will
# come from `python -m impkit.sparsifiers record`.
#
# **The verdict** of each method is the paired effect, over seeds, of the paper's RF width (median over the
# first-layer units, in pixels) of its null minus its own at the last round: *reproduced* means the method is more
# local than its null by more than the margin δ = {glue:text}`sp_delta` px (`impkit.verdicts.judge_paired`, 90 %
# t-interval); *not reproduced* means the two agree within δ.

# %% tags=["parameters"]
preset = "default"        # "ci" | "default" | "paper": the book's preset (its seeds)
train_preset = "ci"       # the preset whose network and training this page uses; None: `preset` (see below)
dataset = None            # None: the preset's dataset (its Gaussian clone is added)
seeds = None              # None: the preset's seeds
methods = ["imp", "random", "snip", "snip-iterative", "synflow", "obd", "obd-iterative", "set"]
run_root = "../runs"      # run directories are created here, or reused when they exist
device = "auto"           # "auto" | "cpu" | "cuda"
overrides = {}            # dotted config overrides, e.g. {"train.steps": 2000}
min_weights = 8           # units with fewer surviving first-layer weights are excluded from the locality measures
clone = True              # also the Gaussian clone of the data (False halves the training; its cells then say n/a)
recorded_dir = None       # recorded summaries of other datasets (Fashion-MNIST); None: book/recorded/sparsifiers

# %%
# %matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from impkit import analysis, plotting, verdicts
from impkit import sparsifiers as SP
from impkit.conditions import Condition
from impkit.display import report, table
from impkit.params import as_dict, as_list
from impkit.presets import describe, preset_seeds
from impkit.rounds import init_params
from impkit.runs import ensure_runs

plotting.style()
seeds = as_list(seeds, "seeds", item=int) or preset_seeds(preset)
methods = as_list(methods, "methods", item=str) or list(SP.PAGE_METHODS)
overrides = as_dict(overrides, "overrides")
# Eight methods on the data and its clone, three seeds, at the default preset's sizes take about twenty minutes on
# two CPU cores, beyond `make book`'s budget: the book trains them at the ci preset's network and schedule, with the
# book preset's seeds. Pass train_preset=None (papermill -p train_preset None) to run them at `preset` itself.
train_preset = train_preset or preset
runs = ensure_runs(train_preset, dataset, methods=methods, seeds=seeds, root=run_root, device=device,
                   overrides=overrides, clone=bool(clone), progress=False)
glue("sp_train_preset", describe(train_preset, dataset, overrides, seeds=seeds, data=runs[0].load_data("test")).sentence,
     display=False)
groups = analysis.group_runs(runs)
shape = analysis.image_shape(runs[0])
name = runs[0].dataset
rows = analysis.sparsifier_rows(runs, min_weights=min_weights)
last = max(r["round"] for r in rows)
new = [m for m in methods if m not in ("imp", "random")]
cfg0 = runs[0].config
dyn = SP.SET_DYNAMICS
glue("sp_snip_inputs", f"{SP.SNIP_INPUTS:,}", display=False)
glue("sp_obd_inputs", f"{SP.OBD_INPUTS:,}", display=False)
glue("sp_synflow_steps", SP.SYNFLOW_STEPS, display=False)
glue("sp_set_period", dyn.period, display=False)
glue("sp_set_zeta", dyn.zeta, display=False)
glue("sp_set_quiet", round(100 * (1 - dyn.stop_fraction)), display=False)
glue("sp_set_updates", len(dyn.update_steps(cfg0.train.t_rewind, cfg0.train.steps)), display=False)
glue("sp_delta", verdicts.WIDTH_DELTA, display=False)
glue("sp_acc_delta", 100 * verdicts.ACCURACY_DELTA, display=False)
glue("sp_n_seeds", len(seeds), display=False)
glue("sp_last", last, display=False)
print(f"{len(runs)} runs ({', '.join(methods)}; seeds {seeds}; {'data and clone' if clone else 'data only'}), "
      f"rounds 0..{last}")

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
# ## Locality and accuracy against sparsity
# Top: the data; bottom: its Gaussian clone. Left: the paper's RF width (median over the first-layer units,
# smaller = more local); middle: share of units with a detected local peak (random masks: at most about 0.05);
# right: test accuracy after retraining. Line = mean over seeds, band = min..max; sparsity of the first layer on a
# log scale of the weights kept. Each method's count-matched null is measured at the last round (next section).

# %%
w_c, d_c, a_c = (analysis.curves(rows, k) for k in ("sigma_paper_median", "frac_detected", "test_acc"))
inputs = (False, True) if clone else (False,)
fig, axes = plt.subplots(len(inputs), 3, figsize=(12.6, 3.2 * len(inputs)), sharey="col", squeeze=False)
for row, on_clone in enumerate(inputs):
    pick = lambda c: {k: v for k, v in c.items() if k.clone == on_clone}  # noqa: E731
    src = "clone" if on_clone else "data"
    plotting.metric_vs_sparsity(pick(w_c), r"RF width $\sigma_x$ (px), median", ax=axes[row, 0],
                                title=f"paper RF width ({src})")
    plotting.metric_vs_sparsity(pick(d_c), "units with a detected peak", ax=axes[row, 1], hline=0.05,
                                title=f"detection rate ({src})")
    plotting.metric_vs_sparsity(pick(a_c), "test accuracy", ax=axes[row, 2], title=f"accuracy ({src})")
for ax in axes.flat:
    if ax.get_legend() is not None:
        ax.get_legend().remove()
handles, labels = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
fig.tight_layout(rect=(0, 0.06, 1, 1))

# %% [markdown]
# ## Each method against its own null, and against IMP
# At the last round, per method and input: the paper's RF width of the masks and of their null (mean over seeds),
# the verdict on null − method (positive = the method more local than its null), the robustness measures (share of
# units with a detected local peak; locality index, 1 = random), and accuracy against IMP's (paired, margin
# {glue:text}`sp_acc_delta:.0f` point).

# %%
def verdict_table(rows, last):
    df = pd.DataFrame([r for r in rows if r["round"] == last])
    out, effects = [], {}
    for (ds, method), g in df.groupby(["dataset", "method"], sort=False):
        g = g.sort_values("seed")
        imp = df[(df.dataset == ds) & (df.method == "imp")].sort_values("seed")
        loc = verdicts.judge_paired(g["null_sigma_paper_median"].to_numpy(), g["sigma_paper_median"].to_numpy(),
                                    verdicts.WIDTH_DELTA)
        acc = verdicts.judge_paired(g["test_acc"].to_numpy(), imp["test_acc"].to_numpy(), verdicts.ACCURACY_DELTA)
        cond = Condition.of(ds, method)
        effects[cond] = (loc, acc)
        out.append({"condition": cond.display, "sparsity": g["sparsity"].mean(),
                    "σx (px)": g["sigma_paper_median"].mean(), "σx null (px)": g["null_sigma_paper_median"].mean(),
                    "null − method": loc.text, "locality verdict": loc.verdict,
                    "detected": g["frac_detected"].mean(), "detected null": g["null_frac_detected"].mean(),
                    "LI": g["li_mean"].mean(), "LI null": g["null_li_mean"].mean(),
                    "accuracy": g["test_acc"].mean(), "vs IMP": acc.text if method != "imp" else "",
                    "_order": (cond.clone, methods.index(method) if method in methods else 99)})
    out.sort(key=lambda r: r.pop("_order"))
    return pd.DataFrame(out), effects


vt, effects = verdict_table(rows, last)
table(vt, title=f"last round ({last}), {len(seeds)} seeds, default task")

# %% [markdown]
# **SynFlow's construction, checked on these runs.** If the first-layer score is $c_i|W_{1,ij}(0)|$, every unit
# keeps exactly its largest initial weights; the share of units (with at least one weight kept and one removed)
# for which this holds, over seeds and rounds:

# %%
def synflow_check(groups, name, shape_runs):
    ok = tot = 0
    for r in groups.get((name, "synflow"), []):
        shapes = [m.shape for m in r.mask(0)]
        a = init_params(r.config, shapes)[0][0].abs().numpy()
        for n in r.rounds_done[1:]:
            m = r.mask(n)[0]
            for i in range(m.shape[0]):
                if 0 < m[i].sum() < m.shape[1]:
                    tot += 1
                    ok += bool(a[i][m[i]].min() >= a[i][~m[i]].max())
    return ok, tot


sf_ok, sf_tot = synflow_check(groups, name, runs)
glue("sp_synflow_share", 100 * sf_ok / max(sf_tot, 1), display=False)
print(f"SynFlow: {sf_ok} of {sf_tot} units keep exactly their largest |θ(0)|")

# %% [markdown]
# ## Verdicts

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
lines = []
for cond, (loc, acc) in effects.items():
    if cond.method in ("imp", "random") and cond.clone:
        continue
    key = cond.slug.replace("-", "_")
    glue(f"sp_{key}_verdict", loc.verdict, display=False)
    glue(f"sp_{key}_effect", loc.text, display=False)
    glue(f"sp_{key}_width", float(np.mean([r["sigma_paper_median"] for r in rows
                                                  if r["round"] == last and Condition.of_row(r) == cond])),
         display=False)
    glue(f"sp_{key}_null", float(np.mean([r["null_sigma_paper_median"] for r in rows
                                                 if r["round"] == last and Condition.of_row(r) == cond])),
         display=False)
    glue(f"sp_{key}_acc", 100 * float(np.mean([r["test_acc"] for r in rows
                                                       if r["round"] == last and Condition.of_row(r) == cond])),
         display=False)
    glue(f"sp_{key}_acc_verdict", acc.verdict if cond.method != "imp" else "-", display=False)
    for col in ("frac_detected", "null_frac_detected", "li_mean", "null_li_mean"):
        vals = [r[col] for r in rows if r["round"] == last and Condition.of_row(r) == cond]
        glue(f"sp_{key}_{col}", float(np.mean(vals)) * (100 if "detected" in col else 1), display=False)
    lines.append(f"**{cond.display}: {loc.verdict}** (null − method {loc.text} px)")
for method in methods:  # conditions not run (clone = False): n/a in the prose
    cond = Condition(method, True)
    if cond not in effects and method not in ("imp", "random"):
        key = cond.slug.replace("-", "_")
        for k in ("verdict", "effect", "acc_verdict"):
            glue(f"sp_{key}_{k}", "n/a", display=False)
        for k in ("width", "null", "acc", "frac_detected", "null_frac_detected", "li_mean", "null_li_mean"):
            glue(f"sp_{key}_{k}", float("nan"), display=False)
glue("sp_sparsity", 100 * float(vt["sparsity"].iloc[0]), display=False)
local = [c.display for c, (loc, _) in effects.items() if loc.verdict == verdicts.REPRODUCED and not c.clone
         and c.method in new]
glue("sp_local_methods", ", ".join(local) if local else "none", display=False)
report("More local than its own count-matched random null at the last round (paper RF width, δ = "
       f"{verdicts.WIDTH_DELTA:g} px): " + "; ".join(lines) + ".")

# %% [markdown]
# At {glue:text}`sp_sparsity:.1f` % first-layer sparsity (round {glue:text}`sp_last`, {glue:text}`sp_n_seeds`
# seeds), the paper's RF width (median over units, px) of each method's masks, of its count-matched null, and the
# verdict on null − method (δ = {glue:text}`sp_delta` px); test accuracy (%) and its verdict against IMP's:
#
# | method | σx data | null | verdict (data) | σx clone | null | verdict (clone) | accuracy (data) | vs IMP |
# |---|---|---|---|---|---|---|---|---|
# | IMP | {glue:text}`sp_imp_width:.2f` | {glue:text}`sp_imp_null:.2f` | {glue:text}`sp_imp_verdict` | – | – | – | {glue:text}`sp_imp_acc:.1f` | – |
# | SNIP | {glue:text}`sp_snip_width:.2f` | {glue:text}`sp_snip_null:.2f` | {glue:text}`sp_snip_verdict` | {glue:text}`sp_snip_clone_width:.2f` | {glue:text}`sp_snip_clone_null:.2f` | {glue:text}`sp_snip_clone_verdict` | {glue:text}`sp_snip_acc:.1f` | {glue:text}`sp_snip_acc_verdict` |
# | iterative SNIP | {glue:text}`sp_snip_iterative_width:.2f` | {glue:text}`sp_snip_iterative_null:.2f` | {glue:text}`sp_snip_iterative_verdict` | {glue:text}`sp_snip_iterative_clone_width:.2f` | {glue:text}`sp_snip_iterative_clone_null:.2f` | {glue:text}`sp_snip_iterative_clone_verdict` | {glue:text}`sp_snip_iterative_acc:.1f` | {glue:text}`sp_snip_iterative_acc_verdict` |
# | SynFlow | {glue:text}`sp_synflow_width:.2f` | {glue:text}`sp_synflow_null:.2f` | {glue:text}`sp_synflow_verdict` | {glue:text}`sp_synflow_clone_width:.2f` | {glue:text}`sp_synflow_clone_null:.2f` | {glue:text}`sp_synflow_clone_verdict` | {glue:text}`sp_synflow_acc:.1f` | {glue:text}`sp_synflow_acc_verdict` |
# | OBD | {glue:text}`sp_obd_width:.2f` | {glue:text}`sp_obd_null:.2f` | {glue:text}`sp_obd_verdict` | {glue:text}`sp_obd_clone_width:.2f` | {glue:text}`sp_obd_clone_null:.2f` | {glue:text}`sp_obd_clone_verdict` | {glue:text}`sp_obd_acc:.1f` | {glue:text}`sp_obd_acc_verdict` |
# | iterative OBD | {glue:text}`sp_obd_iterative_width:.2f` | {glue:text}`sp_obd_iterative_null:.2f` | {glue:text}`sp_obd_iterative_verdict` | {glue:text}`sp_obd_iterative_clone_width:.2f` | {glue:text}`sp_obd_iterative_clone_null:.2f` | {glue:text}`sp_obd_iterative_clone_verdict` | {glue:text}`sp_obd_iterative_acc:.1f` | {glue:text}`sp_obd_iterative_acc_verdict` |
# | SET | {glue:text}`sp_set_width:.2f` | {glue:text}`sp_set_null:.2f` | {glue:text}`sp_set_verdict` | {glue:text}`sp_set_clone_width:.2f` | {glue:text}`sp_set_clone_null:.2f` | {glue:text}`sp_set_clone_verdict` | {glue:text}`sp_set_acc:.1f` | {glue:text}`sp_set_acc_verdict` |
# | random | {glue:text}`sp_random_width:.2f` | {glue:text}`sp_random_null:.2f` | {glue:text}`sp_random_verdict` | – | – | – | {glue:text}`sp_random_acc:.1f` | {glue:text}`sp_random_acc_verdict` |
#
# SynFlow's construction held for {glue:text}`sp_synflow_share:.0f` % of its units. Methods more local than their
# null on the data: **{glue:text}`sp_local_methods`**.

# %% [markdown]
# ## Fashion-MNIST (recorded)
# The same comparison on Fashion-MNIST and its Gaussian clone at this preset's network, recorded with
# `python -m impkit.sparsifiers record --preset default --dataset fashion-mnist --seeds 0,1,2` (which writes
# `book/recorded/sparsifiers/fashion-mnist.json` with its provenance); the page reads the file and trains nothing.

# %% tags=["hide-input"]
rec_path = Path(recorded_dir or SP.RECORDED_DIR) / "fashion-mnist.json"
if rec_path.exists():
    import json

    rec = json.loads(rec_path.read_text())
    rrows = rec["rows"]
    rlast = max(r["round"] for r in rrows)
    rvt, reffects = verdict_table(rrows, rlast)
    pv = rec["provenance"]
    glue("sp_fm_status", f"recorded {pv['date'][:10]} on {pv['device']} (impkit {pv['commit'][:10]}, "
         f"{pv['wall_s'] / 60:.0f} min)", display=False)
    fm_local = [c.display for c, (loc, _) in reffects.items() if loc.verdict == verdicts.REPRODUCED and not c.clone
                and c.method not in ("imp", "random")]
    glue("sp_fm_local", ", ".join(fm_local) if fm_local else "none", display=False)
    display(table(rvt, title=f"Fashion-MNIST, last round ({rlast}), recorded"))
else:
    glue("sp_fm_status", "not recorded in this build", display=False)
    glue("sp_fm_local", "not recorded", display=False)
    print(f"No recorded summary at {rec_path}: run the command above to record it.")

# %% [markdown]
# Fashion-MNIST: {glue:text}`sp_fm_status`. Methods more local than their null there:
# **{glue:text}`sp_fm_local`**.
