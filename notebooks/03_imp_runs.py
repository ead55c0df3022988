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
# # The IMP runs
#
# Every other analysis reads the runs made here: for the preset's task and for its Gaussian clone, iterative
# magnitude pruning (IMP) with rewinding, the one-shot baseline (dense round-0 weights pruned in one step to the
# sparsity IMP has reached) and the random baseline (random masks with the same per-layer counts), for each seed.
# Runs that already exist under `run_root` are reused, so this notebook trains only what is missing; all runs of
# one round are trained together as a batch of replicas.

# %% tags=["parameters"]
preset = "default"        # "ci" | "default" | "paper"
dataset = None            # None: the preset's dataset (its Gaussian clone is added)
seeds = None              # None: the preset's seeds
methods = ["imp", "oneshot", "random"]
run_root = "../runs"      # run directories are created here, or reused when they exist
device = "auto"           # "auto" | "cpu" | "cuda"
overrides = {}            # dotted config overrides, e.g. {"train.steps": 2000}

# %%
# %matplotlib inline
import time

import numpy as np
import pandas as pd
from myst_nb import glue

from impkit import analysis, plotting
from impkit.conditions import Condition
from impkit.display import report, table
from impkit.methods import PAPER_METHODS
from impkit.params import as_dict, as_list
from impkit.presets import describe, preset_seeds
from impkit.runs import ensure_runs

plotting.style()
seeds = as_list(seeds, "seeds", item=int) or preset_seeds(preset)
methods = as_list(methods, "methods", item=str) or list(PAPER_METHODS)
overrides = as_dict(overrides, "overrides")
t0 = time.perf_counter()
runs = ensure_runs(preset, dataset, methods=methods, seeds=seeds, root=run_root, device=device,
                   overrides=overrides, clone=True, progress=False)
elapsed = time.perf_counter() - t0
cfg = runs[0].config
print(f"{len(runs)} runs ({', '.join(sorted({r.dataset for r in runs}))}; seeds {seeds}) ready")

# %% [markdown]
# ## The setting
# Every setting of the runs on this page; the other pages describe this build by the same numbers.

# %%
clone_run = next((r for r in runs if Condition.of_run(r).clone), None)
setting = pd.Series({
    "dataset": f"{cfg.data.name} {cfg.data.options}",
    "data source": str(runs[0].load_data("test").info.get("provenance", "")),
    "Gaussian clone": f"{clone_run.dataset} {clone_run.config.data.options}" if clone_run else "none",
    "network": ":".join(map(str, [runs[0].mask(0)[0].shape[1], *cfg.model.hidden, runs[0].mask(0)[-1].shape[0]])),
    "init / input BN": f"{cfg.model.init} / {cfg.model.input_bn}",
    "SGD lr, batch": f"{cfg.train.lr}, {cfg.train.batch}",
    "steps per round T, rewind step": f"{cfg.train.steps}, {cfg.train.t_rewind}",
    "pruning": f"{cfg.prune.rounds} rounds of {cfg.prune.rate:.0%} per layer ({cfg.prune.scope}), output layer "
               f"{cfg.prune.output_rate_value:.0%}",
    "seeds": ", ".join(map(str, seeds)),
}, name="value")
glue("runs_steps", cfg.train.steps, display=False)
glue("runs_hidden", ":".join(map(str, cfg.model.hidden)), display=False)
# the build's preset in the words of the prose pages (intro, results)
about = describe(preset, dataset, overrides=overrides, seeds=seeds, data=runs[0].load_data("test"))
glue("preset_name", about.preset, display=False)
glue("preset_seeds", about.seeds_text, display=False)
glue("preset_network", about.network_text, display=False)
glue("preset_input", about.input_text, display=False)
glue("preset_dataset", about.dataset_text, display=False)
glue("preset_task", about.task_text, display=False)
glue("preset_steps", f"{about.steps:,}", display=False)
glue("preset_rounds", about.rounds, display=False)
table(setting)

# %% [markdown]
# ## Accuracy vs sparsity
# Test accuracy after retraining at each round (line = mean over seeds, band = min..max). Round 0 is the dense
# network, shared by the three methods. Each round removes the same share of the surviving weights, so the
# sparsity axis is logarithmic in the weights kept: rounds are evenly spaced, and the last ones (beyond 80 %
# sparsity, where the methods part) get as much room as the first.

# %%
acc = analysis.accuracy_rows(runs)
fig = plotting.metric_vs_sparsity(analysis.curves(acc, "test_acc"), "test accuracy",
                                  title="accuracy after retraining")
summary = analysis.final_summary(acc, "test_acc")
dense = float(np.mean([r["test_acc"] for r in acc if r["round"] == 0 and not Condition.of_row(r).clone]))
glue("acc_dense", dense, display=False)
glue("acc_imp_final", summary[Condition("imp")]["mean"], display=False)
glue("acc_random_final", summary[Condition("random")]["mean"], display=False)
glue("acc_sparsity_final", summary[Condition("imp")]["sparsity"] * 100, display=False)

# %% [markdown]
# ## Sparsity per layer
# The per-layer counts follow the pruning schedule exactly and are identical for the three methods.

# %%
r0 = [r for r in runs if r.method == "imp"][0]
per_layer = pd.DataFrame({f"round {n}": [l["sparsity"] for l in r0.sparsity(n)["layers"]]
                          for n in r0.rounds_done}, index=[f"layer {l}" for l in range(r0.num_layers)])
table(per_layer.T, digits=4)

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
# Counts are deterministic: every method and seed has the same per-layer counts at each round.
counts = {(r.dataset, r.method, r.seed): [[l["kept"] for l in r.sparsity(n)["layers"]] for n in r.rounds_done]
          for r in runs}
first = next(iter(counts.values()))
same = all(c == first for c in counts.values())
report(f"Per-layer counts identical across methods and seeds: **{'yes' if same else 'NO'}**.",
       "First-layer weights kept per round: " + ", ".join(f"{c[0]:,}" for c in first) + ".")

# %% [markdown]
# Dense test accuracy is {glue:text}`acc_dense:.3f`; at {glue:text}`acc_sparsity_final:.1f` % first-layer
# sparsity IMP keeps {glue:text}`acc_imp_final:.3f` and random pruning {glue:text}`acc_random_final:.3f`.
