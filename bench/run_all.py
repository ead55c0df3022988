"""`make bench`: every benchmark of impkit on this machine, one after the other.

Training step speed (naive loop vs batched replicas, projected paper reproduction time), analysis speed (closed-form
vs brute-force cavity scores, RF-width analysis) and data loading (time and peak memory). Figures are printed as
measured in this run; ratios compare numbers taken in the same run.
"""
from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

import bench_data  # noqa: E402
import bench_metrics  # noqa: E402
import bench_train  # noqa: E402


def main() -> None:
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.processor() or platform.machine()})"
    print(f"impkit benchmarks on {dev}; torch {torch.__version__}; {torch.get_num_threads()} threads")
    for name, mod in (("training", bench_train), ("analysis", bench_metrics), ("data loading", bench_data)):
        print(f"\n===== {name} =====", flush=True)
        t0 = time.perf_counter()
        mod.main([])
        print(f"({name} benchmarks took {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
