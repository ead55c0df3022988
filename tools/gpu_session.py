"""One GPU session in one call (about 9 minutes): checks, the training bench and a timed piece of the paper run.

    python tools/gpu_session.py [--out DIR] [--smoke] [--skip-tests] [--skip-bench] [--budget SECONDS]

Phases, each timed (wall seconds) and each under its own time limit:

1. ``env``: device name, torch, CUDA and cuDNN versions, printed and recorded.
2. ``tests``: the offline unit-test subset :data:`OFFLINE_TESTS` plus the ``gpu`` tests (``tests/test_gpu.py``)
   with pytest. Left out: the README, Ray, notebook and built-site tests (``test_readme``, ``test_ray_engine``,
   ``test_run_notebooks``, ``test_site_checks``, ``tests/site``), which need the project's own machine (its
   ``.venv`` with Ray, Jupyter Book, the Debian Fashion-MNIST package).
3. ``bench``: ``bench/bench_train.py`` (naive loop, vmap recipe and impkit's batched step at R = 1, 6, 18, and
   the gap to the weight-traffic floor).
4. ``reproduction``: the paper's batch at its real shapes on an ImageNet32-sized STAND-IN generated on the device
   (:func:`impkit.data.standin.standin_images`, 1,281,167 train and 50,000 validation rows of 32x32 RGB; not
   ImageNet32) and one per-channel float16 Gaussian clone of it per seed (:func:`impkit.data.clone.gaussian_clone`,
   the paper preset's clone options), batched as ``impkit plan --preset paper`` batches the paper's 18 runs: data
   and clone runs apart. Round 0 trains two batches of 3 replicas (3 seeds, data; 3 seeds, clone), the pruned
   round two batches of 9 ({IMP, one-shot, random} x 3 seeds; masks at round 1's density, 70 % of each layer
   kept: the dense kernels cost the same whichever weights are kept), with :func:`impkit.train.train` (the
   CUDA-graph step, the minibatch streams, evaluation every 5,000 steps on the validation rows) at batch 40,
   lr 0.1. Each batch runs its full step count (40,000 in round 0, 39,000 after) or until a quarter of
   ``--budget``; the full 11-round reproduction is then EXTRAPOLATED from the measured steps/s (40,000 steps of
   each round-0 batch + 10 x 39,000 steps of each pruned batch). Pruning, checkpoints and file I/O are not
   included.

Everything lands in ``$OUT/bench/results/<device>-<YYYY-MM-DD>.json`` (:func:`write_results`; ``--out`` or
``$OUT``, default ``_build/gpu-session``): device, versions, wall time per phase, steps/s, peak memory,
projected full time. ``--smoke`` runs every phase tiny (a few test files, the bench skipped, 2,000 stand-in rows
of 10 classes, hidden 32, a few steps) so that the script can be proven end to end on a CPU in seconds
(``tests/test_gpu_session.py`` does).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
# The offline unit tests worth running on a GPU machine (training, pruning, the run store, planning and the data
# the paper preset needs); tests/test_gpu.py is added to them.
OFFLINE_TESTS = ("tests/test_train.py", "tests/test_model.py", "tests/test_prune.py", "tests/test_imp.py",
                 "tests/test_methods.py", "tests/test_store.py", "tests/test_plan.py", "tests/test_config.py")
SMOKE_TESTS = ("tests/test_config.py",)
PAPER_DIMS = (3072, 1024, 1024, 1000)
ROUND0_STEPS, ROUND_STEPS, ROUNDS = 40_000, 39_000, 10  # paper preset: T = 40k, t_rewind = 1k, 10 pruned rounds
TRAIN_ROWS, VAL_ROWS = 1_281_167, 50_000
# every field a results file has (write_results refuses a record without one)
FIELDS = ("schema", "device", "kind", "date", "host", "smoke", "torch", "cuda", "cudnn", "python", "phases",
          "wall_s", "reproduction", "projected_full_s", "projected_note", "peak_memory_bytes", "tests", "bench")


# ---------------------------------------------------------------------------------------------------------------
# results file
# ---------------------------------------------------------------------------------------------------------------
def device_slug(name: str) -> str:
    """A file-name-safe form of a device name: ``"NVIDIA H100 80GB HBM3"`` -> ``"nvidia-h100-80gb-hbm3"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"


def results_path(out: str | Path, device: str, date: str) -> Path:
    """``out/bench/results/<device slug>-<YYYY-MM-DD>.json``."""
    return Path(out) / "bench" / "results" / f"{device_slug(device)}-{date}.json"


def _finite(v):
    """JSON has no NaN/inf: non-finite floats become None (recursively)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def write_results(out: str | Path, record: dict) -> Path:
    """Write ``record`` (a dict holding every key of :data:`FIELDS`) as strict JSON to :func:`results_path` and
    return the path. Raises ValueError naming the missing fields; non-finite floats are written as null."""
    missing = [f for f in FIELDS if f not in record]
    if missing:
        raise ValueError(f"results record lacks {', '.join(missing)}")
    path = results_path(out, record["device"], record["date"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_finite(record), indent=2, sort_keys=True, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------------------------------------------
def environment(dev: torch.device) -> dict:
    """Device name and kind, torch / CUDA / cuDNN / Python versions."""
    cuda = dev.type == "cuda"
    return {"device": torch.cuda.get_device_name(dev) if cuda else f"CPU {platform.machine()}",
            "kind": dev.type, "torch": torch.__version__, "cuda": torch.version.cuda if cuda else None,
            "cudnn": torch.backends.cudnn.version() if cuda else None, "python": platform.python_version(),
            "host": platform.node()}


def _peak_reset(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)


def _peak(dev: torch.device) -> int:
    """Peak device memory since the last reset (CUDA), or this process's peak resident memory (CPU), bytes."""
    if dev.type == "cuda":
        return int(torch.cuda.max_memory_allocated(dev))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def run_command(cmd: list[str], timeout: float) -> dict:
    """Run ``cmd`` in the repository root, streaming its output; ``{"cmd", "rc", "wall_s", "timed_out", "tail"}``."""
    t0 = time.perf_counter()
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    timed_out = False
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            print(line, end="", flush=True)
            lines.append(line)
            if time.perf_counter() - t0 > timeout:
                timed_out = True
                proc.kill()
                break
        proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - t0)))
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    return {"cmd": " ".join(cmd), "rc": proc.returncode, "wall_s": time.perf_counter() - t0, "timed_out": timed_out,
            "tail": "".join(lines[-40:])}


class _Stop(Exception):
    """Raised by the budget hook to end a timed round early."""


def _timed_round(model, data, steps: int, budget_s: float, seeds: list[int], eval_every: int, dev, label: str) -> dict:
    """Train ``model`` on ``data`` for ``steps`` steps or until ``budget_s`` seconds, whichever comes first
    (checked every 1,000 steps); returns steps done, wall seconds, steps/s, replica-steps/s and peak memory."""
    from impkit.train import train

    R = model.R
    every = max(1, min(1000, steps))
    t0 = time.perf_counter()
    reached = {"t": 0}

    def check(t: int) -> None:
        reached["t"] = t
        if t and time.perf_counter() - t0 > budget_s:
            raise _Stop

    hooks = {t: check for t in range(every, steps, every)}
    _peak_reset(dev)
    try:
        train(model, data, steps, lr=0.1, batch=40, stream_seeds=seeds, eval_every=eval_every, hooks=hooks,
              progress=False, desc=label)
        done = steps
    except _Stop:
        done = reached["t"]
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    wall = time.perf_counter() - t0
    sps = done / wall if wall > 0 else float("nan")
    out = {"replicas": R, "steps_planned": steps, "steps_done": done, "wall_s": wall, "steps_per_s": sps,
           "replica_steps_per_s": sps * R, "peak_memory_bytes": _peak(dev)}
    print(f"{label}: {R} replicas, {done:,}/{steps:,} steps in {wall:.1f} s = {sps:.1f} steps/s "
          f"({sps * R:.0f} replica-steps/s), peak memory {out['peak_memory_bytes'] / 2**30:.2f} GiB", flush=True)
    return out


def _mean_rows(x: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """Mean row (D,) float32 of ``x`` (N, D), summed in float64 chunks (no float copy of all of ``x``)."""
    acc = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
    for a in range(0, x.shape[0], chunk):
        acc += x[a:a + chunk].to(torch.float64).sum(0)
    return (acc / x.shape[0]).to(torch.float32)


def reproduction(dev: torch.device, rows: int, val_rows: int, num_classes: int, hidden: tuple[int, ...],
                 round0_steps: int, round_steps: int, budget_s: float, eval_every: int = 5000) -> dict:
    """Round 0 and one pruned round of the paper's batches on the stand-in and its clones, batched as
    ``impkit plan --preset paper`` batches them: data and clone runs apart (their storage dtypes differ), each
    run seed with its own clone. Round 0: 3 data replicas, 3 clone replicas; rounds 1-10: 9 + 9 (IMP, one-shot,
    random x 3 seeds). Each of the four timed batches gets ``budget_s / 4`` seconds at most. Returns the data
    timings, the per-batch timings and the extrapolated full time."""
    from impkit.data.base import Dataset
    from impkit.data.clone import gaussian_clone
    from impkit.data.standin import standin_images
    from impkit.model import FCN
    from impkit.train import stack_datasets

    seeds = [0, 1, 2]
    dims = [3072, *hidden, num_classes]
    res: dict = {"train_rows": rows, "val_rows": val_rows, "num_classes": num_classes, "dims": dims,
                 "data_note": "ImageNet32 STAND-IN generated on the device (impkit.data.standin; not ImageNet32) "
                 "and one per-channel float16 Gaussian clone of it per seed (the paper preset's clone options)"}
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)  # noqa: E731
    t0 = time.perf_counter()
    _peak_reset(dev)
    x, y = standin_images(total=rows, split="train", num_classes=num_classes, device=dev)
    mean = _mean_rows(x)
    train_ds = Dataset(x=x, y=y, image_shape=(3, 32, 32), num_classes=num_classes, name="imagenet32",
                       shift=mean, scale=255.0)
    x, y = standin_images(total=val_rows, split="val", num_classes=num_classes, device=dev)
    val_ds = Dataset(x=x, y=y, image_shape=(3, 32, 32), num_classes=num_classes, name="imagenet32",
                     shift=mean, scale=255.0)
    del x, y
    sync()
    res["standin_s"] = time.perf_counter() - t0
    standin_peak = _peak(dev)
    print(f"data: stand-in {rows:,} + {val_rows:,} rows in {res['standin_s']:.1f} s", flush=True)
    g = torch.Generator().manual_seed(0)

    def timed(label: str, trs: list, tes: list, steps: int, prune: bool) -> dict:
        data = stack_datasets(trs, tes, device=dev)
        R = len(trs)
        model = FCN(dims, R, seeds=list(range(R))).to(dev)
        if prune:  # round 1's density: 70 % of every layer kept
            model.set_masks([torch.rand(R, o, i, generator=g) < 0.7 for i, o in zip(dims[:-1], dims[1:])])
        out = _timed_round(model, data, steps, budget_s / 4, list(range(R)), eval_every, dev, label)
        del model, data
        return out

    res["round0_data"] = timed("round 0, data", [train_ds] * 3, [val_ds] * 3, round0_steps, False)
    res["round1_data"] = timed("round 1, data", [train_ds] * 9, [val_ds] * 9, round_steps, True)
    t1 = time.perf_counter()
    clones = [(gaussian_clone(train_ds, seed=s, per_channel=True, dtype="float16", device=dev),
               gaussian_clone(train_ds, seed=100 + s, labels=val_ds.y, per_channel=True, dtype="float16",
                              device=dev)) for s in seeds]
    sync()
    res["clone_s"] = time.perf_counter() - t1
    res["data_peak_memory_bytes"] = max(standin_peak, _peak(dev))
    print(f"data: {len(seeds)} clones in {res['clone_s']:.1f} s", flush=True)
    del train_ds, val_ds
    ctr, cte = [c[0] for c in clones], [c[1] for c in clones]
    del clones
    res["round0_clone"] = timed("round 0, clone", ctr, cte, round0_steps, False)
    res["round1_clone"] = timed("round 1, clone", [c for c in ctr for _ in range(3)],
                                [c for c in cte for _ in range(3)], round_steps, True)
    rate = {k: res[k]["steps_per_s"] for k in ("round0_data", "round0_clone", "round1_data", "round1_clone")}
    res["projected_full_s"] = (ROUND0_STEPS * (1 / rate["round0_data"] + 1 / rate["round0_clone"])
                               + ROUNDS * ROUND_STEPS * (1 / rate["round1_data"] + 1 / rate["round1_clone"]))
    res["projected_note"] = (
        f"EXTRAPOLATED, not measured: round 0 = {ROUND0_STEPS:,} steps of each round-0 batch (3 replicas) and "
        f"{ROUNDS} pruned rounds x {ROUND_STEPS:,} steps of each 9-replica batch, at the steps/s measured here "
        f"(data {rate['round0_data']:.1f} / {rate['round1_data']:.1f}, clone {rate['round0_clone']:.1f} / "
        f"{rate['round1_clone']:.1f}), dims {dims}; training and evaluation only (no pruning, checkpoints, file "
        "I/O or data loading)")
    print(f"projected full reproduction (11 rounds): {res['projected_full_s'] / 3600:.2f} h -- "
          f"{res['projected_note']}", flush=True)
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.environ.get("OUT") or str(ROOT / "_build" / "gpu-session"),
                    help="results go to OUT/bench/results/ (default: $OUT, else _build/gpu-session)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    ap.add_argument("--smoke", action="store_true", help="everything tiny: proves the script runs (CPU, seconds)")
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--skip-bench", action="store_true")
    ap.add_argument("--budget", type=float, default=160.0,
                    help="seconds of training for the four timed batches together (default 160)")
    ap.add_argument("--tests-timeout", type=float, default=150.0)
    ap.add_argument("--bench-timeout", type=float, default=100.0)
    a = ap.parse_args(argv)
    from impkit.device import resolve_device

    dev = resolve_device(a.device)
    t_start = time.perf_counter()
    env = environment(dev)
    print(f"gpu session on {env['device']} ({env['kind']}); torch {env['torch']}, CUDA {env['cuda']}, "
          f"cuDNN {env['cudnn']}, Python {env['python']}", flush=True)
    # the record is written after every phase, so that a session cut short still leaves what it measured
    record = {f: None for f in FIELDS}
    record.update(schema=1, **env, date=_dt.date.today().isoformat(), smoke=bool(a.smoke), phases={"env": 0.0})

    def save() -> Path:
        record["wall_s"] = time.perf_counter() - t_start
        return write_results(a.out, record)

    save()
    if not a.skip_tests:
        files = list(SMOKE_TESTS if a.smoke else OFFLINE_TESTS) + ["tests/test_gpu.py"]
        sel = ["-k", "not kill and not replica"] if a.smoke else []
        record["tests"] = run_command([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *sel,
                                       *files], a.tests_timeout)
        record["phases"]["tests"] = record["tests"]["wall_s"]
        save()
    if not (a.skip_bench or a.smoke):
        record["bench"] = run_command([sys.executable, str(ROOT / "bench" / "bench_train.py"), "--device", str(dev)],
                                      a.bench_timeout)
        record["phases"]["bench"] = record["bench"]["wall_s"]
        save()
    t0 = time.perf_counter()
    try:
        if a.smoke:
            rep = reproduction(dev, rows=2000, val_rows=200, num_classes=10, hidden=(32, 32), round0_steps=6,
                               round_steps=4, budget_s=a.budget, eval_every=5)
        else:
            rep = reproduction(dev, rows=TRAIN_ROWS, val_rows=VAL_ROWS, num_classes=1000, hidden=PAPER_DIMS[1:3],
                               round0_steps=ROUND0_STEPS, round_steps=ROUND_STEPS, budget_s=a.budget)
    except Exception as e:  # e.g. out of memory: record it, keep what the other phases measured
        record["reproduction"] = {"error": f"{type(e).__name__}: {e}"}
        record["phases"]["reproduction"] = time.perf_counter() - t0
        print(f"results: {save()}", flush=True)
        raise
    record["phases"]["reproduction"] = time.perf_counter() - t0
    record.update(reproduction=rep, projected_full_s=rep["projected_full_s"], projected_note=rep["projected_note"],
                  peak_memory_bytes=max([rep["data_peak_memory_bytes"]] + [rep[k]["peak_memory_bytes"] for k in
                                        ("round0_data", "round1_data", "round0_clone", "round1_clone")]))
    print(f"results: {save()}", flush=True)
    return record


if __name__ == "__main__":
    main()
