"""`make bench`: every benchmark of impkit on this machine, one after the other.

Training step speed (naive loop vs PyTorch's vmap ensembling recipe vs batched replicas, projected paper reproduction
time), analysis speed (closed-form vs brute-force cavity scores, RF-width analysis), data loading (time and peak
memory) and the mask cost per round of each sparsifier of impkit.sparsifiers. Figures are printed as
measured in this run; ratios compare numbers taken in the same run.
"""
from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main() -> None:
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.processor() or platform.machine()})"
    print(f"impkit benchmarks on {dev}; torch {torch.__version__}; {torch.get_num_threads()} threads")
    # one process per benchmark: peak-memory figures (ru_maxrss) are per process and must not inherit another's
    for name, script in (("training", "bench_train.py"), ("analysis", "bench_metrics.py"),
                         ("data loading", "bench_data.py"),
                         ("sparsifiers (mask cost per round)", "bench_sparsifiers.py")):
        print(f"\n===== {name} =====", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / script)], check=True)
        print(f"({name} benchmarks took {time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
