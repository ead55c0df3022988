"""Benchmark: exact cavity scores (closed form vs brute force) and the RF-width analysis.

    python bench/bench_metrics.py [--inputs 10000] [--brute-units 4] [--full] [--rf-only]

* Cavity, 256 x 784 layer over 10,000 inputs: closed form timed in full; brute force (recompute the kurtosis
  without each weight: H x D x P work) timed on ``--brute-units`` units and extrapolated linearly to all 256
  (``--full`` times it on every unit). Reports the ratio (goal >= 100x).
* Cavity, 1024 x 3072 over 10,000 inputs: closed form timed; brute force extrapolated from one unit.
* RF width, per image shape (3 x 32 x 32 and 1 x 24 x 24): 1024 units x 11 rounds of random masks at the IMP densities
  0.7^n (first call including the one-off simulation of the detection null, then again with it cached; few units
  are detected, so few are fitted), and 1024 planted Gaussian blobs with a sparse scattered background (every unit
  detected and fitted: the slow case). Goal: a few seconds per 1024 units on 2 CPU cores.

Timings are wall-clock on whatever else the machine is running; CPU time is printed alongside.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from impkit.metrics import cavity_scores, cavity_scores_bruteforce, rf_width_fit


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _layer(h, d, p, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.distributions.Laplace(0.0, 1.0).sample((p, d)).to(torch.float32)
    w = (torch.rand(h, d, generator=g) * 2 - 1) / d ** 0.5
    return w, x


def bench_cavity(h, d, p, brute_units, full=False):
    w, x = _layer(h, d, p)
    s, t_fast, c_fast = _timed(lambda: cavity_scores(w, x))
    units = list(range(h)) if full else list(range(min(brute_units, h)))
    ref, t_b, c_b = _timed(lambda: cavity_scores_bruteforce(w, x, units=units))
    t_brute = t_b * h / len(units)
    c_brute = c_b * h / len(units)
    err = (s[units] - ref[units]).abs().max().item() / ref[units].abs().max().item()
    how = "measured on all units" if full or len(units) == h else f"extrapolated from {len(units)} unit(s)"
    print(f"cavity {h}x{d}, P={p}: closed form {t_fast:.2f} s (cpu {c_fast:.2f} s); brute force "
          f"{t_brute:.1f} s (cpu {c_brute:.1f} s; {how}); ratio {t_brute / t_fast:.0f}x wall, "
          f"{c_brute / c_fast:.0f}x cpu; max rel. diff {err:.1e}")
    s32, t32, c32 = _timed(lambda: cavity_scores(w, x, dtype=torch.float32))
    err32 = (s32.double() - s).abs().max().item() / s.abs().max().item()
    print(f"   closed form in float32: {t32:.2f} s (cpu {c32:.2f} s), ratio {t_brute / t32:.0f}x wall; "
          f"max rel. diff to float64 {err32:.1e}")
    return t_fast, t_brute


def bench_rf(units=1024, rounds=11, shapes=((3, 32, 32), (1, 24, 24)), seed=0):
    for shape in shapes:
        c, h, w = shape
        rng = np.random.default_rng(seed)
        masks = np.concatenate([rng.random((units, c * h * w)) < 0.7 ** n for n in range(rounds)])
        for label in ("first call", "null cached"):
            r, t, cpu = _timed(lambda: rf_width_fit(masks, shape))
            print(f"rf width {shape}, {units} units x {rounds} random rounds ({label}): {t:.2f} s (cpu {cpu:.2f} s), "
                  f"{t / rounds:.2f} s per {units} units; detected {r.frac_detected:.3f} (random masks: <= 0.05)")
        yy, xx = np.mgrid[:h, :w]
        blobs = np.empty((units, c, h, w), dtype=bool)
        for i in range(units):
            cy, cx = rng.uniform(h / 4, 3 * h / 4), rng.uniform(w / 4, 3 * w / 4)
            p = 0.8 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 2.0 ** 2)) + 0.03
            blobs[i] = rng.random((c, h, w)) < p
        r, t, cpu = _timed(lambda: rf_width_fit(blobs.reshape(units, -1), shape))
        print(f"rf width {shape}, {units} planted blobs + 3 % background (all fitted): {t:.2f} s (cpu {cpu:.2f} s); "
              f"detected {r.frac_detected:.3f}, median width {np.median(r.sigma_x[r.detected]):.2f} px "
              f"(sqrt(2) x 2 = 2.83)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=10_000)
    ap.add_argument("--brute-units", type=int, default=4)
    ap.add_argument("--full", action="store_true", help="time the brute force on every unit of the small layer")
    ap.add_argument("--skip-large", action="store_true", help="skip the 1024x3072 layer")
    ap.add_argument("--rf-only", action="store_true", help="only the RF-width benchmark")
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if not args.rf_only:
        bench_cavity(256, 784, args.inputs, args.brute_units, args.full)
        if not args.skip_large:
            bench_cavity(1024, 3072, args.inputs, 1)
    bench_rf()


if __name__ == "__main__":
    main()
