"""Compare two run roots array by array: ``python tools/compare_runs.py ROOT_A ROOT_B``.

Checks that both hold the same run directories and that every npz array (masks, rewind points, trained weights),
every sparsity report and every evaluation/loss curve is identical -- used to show that a refactor changes no
result (train the same runs with the old and the new code, then compare).
"""
import json
import pathlib
import sys

import numpy as np

a, b = map(pathlib.Path, sys.argv[1:3])
names_a = sorted(p.name for p in a.iterdir()); names_b = sorted(p.name for p in b.iterdir())
assert names_a == names_b, (names_a, names_b)
n_files = n_arrays = 0
for run in names_a:
    for f in sorted((a / run).rglob("*.npz")):
        g = b / f.relative_to(a)
        za, zb = np.load(f), np.load(g)
        assert sorted(za.files) == sorted(zb.files), f
        for k in za.files:
            assert za[k].dtype == zb[k].dtype and np.array_equal(za[k], zb[k]), (f, k)
            n_arrays += 1
        n_files += 1
    for f in sorted((a / run).rglob("sparsity.json")):
        assert json.loads(f.read_text()) == json.loads((b / f.relative_to(a)).read_text()), f
    for f in sorted((a / run).rglob("metrics.json")):
        ma, mb = json.loads(f.read_text()), json.loads((b / f.relative_to(a)).read_text())
        assert ma["eval"] == mb["eval"] and ma["train_curve"] == mb["train_curve"], f
print(f"{len(names_a)} runs, {n_files} npz files, {n_arrays} arrays: bit-identical (and identical eval/loss curves)")
