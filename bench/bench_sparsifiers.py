"""Benchmark: the cost of one round's masks for each sparsifier of impkit.sparsifiers (and SET's mask updates).

Two network sizes: the default preset's (576 → 128 → 2) and the paper's first layer (3072 → 1024) followed by a
10-way output layer (OBD's Hessian diagonal costs K backward passes per chunk of inputs, so at the paper's K = 1000
it is about 100 times the figure printed here; stated in impkit.sparsifiers). Masks of round 5 from round 4's,
scores on the CPU in float64 as the methods compute them; inputs are random rows (the cost does not depend on their
values). SET's and RigL's cost per round is their number of updates times one update of one replica
(impkit.dynamic) on the CPU; RigL's includes its dense gradient on one minibatch of the preset's batch size.
Last, the memory one mask update takes beyond its inputs, measured in a fresh process, beside what impkit.plan
budgets for it.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from impkit import methods, prune as P
from impkit.data.base import Dataset
from impkit.dynamic import ReplicaDynamics
from impkit.model import FCN
from impkit.presets import make_config
from impkit.rounds import init_params
from impkit.runformat import Masks
from impkit.sparsifiers import OBD_INPUTS, RIGL_DYNAMICS, SET_DYNAMICS, SNIP_INPUTS
from impkit.train import ReplicaData

METHODS = ("imp", "snip", "snip-iterative", "synflow", "obd", "obd-iterative")


def _ctx(dims, n, side, method):
    shapes = [(o, i) for i, o in zip(dims[:-1], dims[1:])]
    cfg = make_config("default", None, method, 0, {"model.hidden": tuple(dims[1:-1])})
    K = dims[-1]
    g = torch.Generator().manual_seed(0)
    rows = max(SNIP_INPUTS, OBD_INPUTS)
    ds = Dataset(x=torch.randn(rows, dims[0], generator=g), y=torch.arange(rows) % K,
                 image_shape=(dims[0] // (side * side), side, side), num_classes=K, name="bench")
    W, b = init_params(cfg, shapes)
    trained = ([w * 3 for w in W], b)
    prev = Masks.from_tensors(*P.random_masks(shapes, cfg.prune, n - 1, 0))
    return methods.MaskContext(n=n, shapes=shapes, prune=cfg.prune, seed=0, trained=lambda k: trained,
                               mask=lambda k: prev, rewind=lambda: (W, b), data=lambda split: ds, cfg=cfg,
                               init=lambda: (W, b))


def _best(fn, repeat=3):
    """Fastest of ``repeat`` calls (after one warm-up call), seconds: the machine may be shared."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def bench_masks(dims, side, n=5):
    out = []
    for name in METHODS:
        ctx = _ctx(dims, n, side, name)
        out.append((name, _best(lambda: methods.get(name).masks(ctx), repeat=2)))
    # SET: one update of one replica, times the updates of a round
    model = FCN(dims, 1, seeds=[0])
    cfg = make_config("default", None, "set", 0, {"model.hidden": tuple(dims[1:-1])})
    shapes = [(o, i) for i, o in zip(dims[:-1], dims[1:])]
    m, bm = P.random_masks(shapes, cfg.prune, n, 0)
    model.set_masks([x.unsqueeze(0) for x in m], [x.unsqueeze(0) for x in bm])
    T, t0_ = cfg.train.steps, cfg.train.t_rewind
    steps = SET_DYNAMICS.update_steps(t0_, T)
    rd = ReplicaDynamics(model, [0], [0], [SET_DYNAMICS], [[int(x.sum()) for x in m]], n, t0_, T)
    one = _best(lambda: rd(steps[0]))
    out.append((f"set ({len(steps)} updates x {one * 1e3:.1f} ms)", one * len(steps)))
    # RigL: the same, with the dense gradient of one minibatch before each update
    g = torch.Generator().manual_seed(1)
    N = 2048
    x, y = torch.randn(N, dims[0], generator=g), torch.arange(N) % dims[-1]
    data = ReplicaData(x=x, y=y, offsets=torch.zeros(1, dtype=torch.long), sizes=[N], shift=None, scale=None,
                       test_x=x[:1], test_y=y[:1], test_offsets=torch.zeros(1, dtype=torch.long), n_test=1,
                       num_classes=dims[-1])
    model.set_masks([x_.unsqueeze(0) for x_ in m], [x_.unsqueeze(0) for x_ in bm])
    rr = ReplicaDynamics(model, [0], [0], [RIGL_DYNAMICS], [[int(x_.sum()) for x_ in m]], n, t0_, T, data=data,
                         batch=cfg.train.batch)
    one = _best(lambda: rr(steps[0]))
    out.append((f"rigl ({len(steps)} updates x {one * 1e3:.1f} ms)", one * len(steps)))
    label = " → ".join(map(str, dims))
    for name, s in out:
        print(f"  {label}: {name:<38} {s * 1e3:9.1f} ms per round")


def _workspace_child(rows: int, side: int) -> None:
    """Print the peak resident bytes one drop-and-regrow update of ``rows`` replicas of a side × side layer adds
    over its inputs (run in a fresh process: the resident high-water mark is per process)."""
    from impkit.dynamic import drop_and_regrow

    def peak() -> int:
        # this process's own resident high-water mark (VmHWM, bytes): getrusage's ru_maxrss would carry over the
        # parent's from before exec
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")

    g = torch.Generator().manual_seed(0)
    W = torch.randn(rows, side, side, generator=g)
    M = (torch.rand(rows, side, side, generator=g) < 0.2).float()
    keys = torch.rand(rows, side * side, generator=g)
    idx, drop = torch.arange(rows), torch.full((rows,), side, dtype=torch.long)
    drop_and_regrow(W[:1, :8, :8].clone(), M[:1, :8, :8].clone(), idx[:1], drop[:1], keys[:1, :64].clone())  # init
    before = peak()
    drop_and_regrow(W, M, idx, drop, keys)
    print(peak() - before)


def workspace_per_weight(rows: int, side: int) -> float:
    """Measured bytes per weight one mask update of ``rows`` replicas of a side × side layer adds over its inputs
    (peak resident memory, in a fresh process)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, __file__, "--workspace-child", str(rows), str(side)], check=True,
                         capture_output=True, text=True).stdout.split()[-1]
    return int(out) / (rows * side * side)


def bench_update_workspace() -> None:
    """Measured workspace of one SET/RigL mask update, for a small chunk and a full one
    (impkit.dynamic.UPDATE_ELEMS weights), beside the bytes per weight impkit.plan budgets
    (plan.SORT_BYTES_PER_WEIGHT)."""
    from impkit.plan import SORT_BYTES_PER_WEIGHT

    for rows, side in ((4, 512), (16, 1024)):
        measured = workspace_per_weight(rows, side)
        print(f"  mask-update workspace, {rows * side * side:>10,} weights in one chunk: measured {measured:.1f} "
              f"B/weight (peak resident over the inputs), planned {SORT_BYTES_PER_WEIGHT} "
              f"(ratio {SORT_BYTES_PER_WEIGHT / max(measured, 1e-9):.2f})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--skip-paper", action="store_true", help="only the default preset's size")
    ap.add_argument("--workspace-child", nargs=2, type=int, metavar=("ROWS", "SIDE"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.workspace_child:
        return _workspace_child(*a.workspace_child)
    print(f"mask cost per round (round 5), CPU, {torch.get_num_threads()} threads; SNIP on {SNIP_INPUTS} rows, "
          f"OBD on {OBD_INPUTS} rows")
    bench_masks([576, 128, 2], 24)
    if not a.skip_paper:
        bench_masks([3072, 1024, 10], 32)
    bench_update_workspace()


if __name__ == "__main__":
    main()
