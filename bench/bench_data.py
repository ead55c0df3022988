"""Benchmark: time and peak memory to load ImageNet32-format data.

Writes a synthetic set in the official npz layout to a temporary directory -- by default a *scaled subset*:
10 training batches of 20,000 rows (the official batches hold ~128,000 rows each, 3.9 GB uint8 in all), so
200,000 x 3,072 uint8 = 614 MB -- then loads it in a fresh subprocess and reports wall time, peak RSS
(``ru_maxrss``) and the peak in excess of the interpreter's baseline, against the uint8 size of the data.
A loader that made one float32 copy would peak near 5x the uint8 size; ours stays near 1x (+ one batch).

    python bench/bench_data.py [--rows 20000] [--batches 10] [--format npz|pickle]
"""
from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D = 3072

_CHILD = r"""
import json, resource, sys, time
import torch, numpy  # baseline: the interpreter with torch imported
import impkit.data as data
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t = time.perf_counter()
ds = data.load("imagenet32", root=sys.argv[1])
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": dt, "peak_rss": peak, "baseline_rss": base, "nbytes": ds.x.numel(),
                  "rows": len(ds), "dtype": str(ds.x.dtype)}))
"""


def write_set(root: Path, rows: int, batches: int, fmt: str = "npz") -> None:
    rng = np.random.default_rng(0)
    mean = rng.uniform(60, 180, D)
    sub = "Imagenet32_train_npz" if fmt == "npz" else "Imagenet32_train"
    (root / sub).mkdir(parents=True)
    for i in range(1, batches + 1):
        x = rng.integers(0, 256, (rows, D), dtype=np.uint8)
        y = rng.integers(1, 1001, rows)
        if fmt == "npz":
            np.savez(root / sub / f"train_data_batch_{i}.npz", data=x, labels=y, mean=mean)
        else:
            with open(root / sub / f"train_data_batch_{i}", "wb") as f:
                pickle.dump({"data": x, "labels": y.tolist(), "mean": mean}, f, protocol=4)
        del x


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000, help="rows per batch (official: ~128,116)")
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--format", choices=["npz", "pickle"], default="npz")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="impkit_bench_") as tmp:
        t = time.perf_counter()
        write_set(Path(tmp), a.rows, a.batches, a.format)
        t_write = time.perf_counter() - t
        out = subprocess.run([sys.executable, "-c", _CHILD, tmp], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    gb = 1e9
    excess = r["peak_rss"] - r["baseline_rss"]
    print(f"ImageNet32 {a.format} load, scaled subset: {a.batches} batches x {a.rows} rows = {r['rows']} images "
          f"(official: 10 x ~128k = 1.28M, 3.9 GB)")
    print(f"  uint8 data          {r['nbytes'] / gb:6.3f} GB ({r['dtype']})")
    print(f"  load time           {r['seconds']:6.2f} s   ({r['nbytes'] / gb / r['seconds']:.2f} GB/s; writing took {t_write:.1f} s)")
    print(f"  peak RSS            {r['peak_rss'] / gb:6.3f} GB (baseline after imports {r['baseline_rss'] / gb:.3f} GB)")
    print(f"  peak above baseline {excess / gb:6.3f} GB = {excess / r['nbytes']:.2f} x the uint8 size "
          f"(one float32 copy would add 4x)")
    r.update(excess_ratio=excess / r["nbytes"], rows_per_batch=a.rows, batches=a.batches, format=a.format)
    return r


if __name__ == "__main__":
    main()
