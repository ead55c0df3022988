"""CUDA checks of training (marked ``gpu``; skipped where ``torch.cuda.is_available()`` is False), and the same
checks on the CPU.

Each check is a helper that takes the device. The ``gpu`` tests run it on CUDA; a CPU test runs the same helper on
the CPU, so every `make test` proves the helper's code path against the real API even though this project's
machines have no GPU (the CPU variants check what the CPU promises, not what CUDA promises). Run the GPU ones
with ``pytest -m gpu tests/test_gpu.py`` or through ``tools/gpu_session.py``.

Tolerances on CUDA, and why:

* CUDA graph vs eager step: bit for bit. The graph replays exactly the kernels the eager step launched during
  capture, with the same shapes and the same inputs, and no kernel of the step uses atomics.
* a replica in a batch vs alone: masks identical, weights within ``atol=1e-5, rtol=1e-4`` (as on the CPU).
  cuBLAS picks its batched-GEMM kernel from the problem shape, so R = 6 and R = 1 may sum in a different order;
  the round-off (~1e-7 per update) stays far below the tolerance over a few hundred steps, and far below the
  spacing of weight magnitudes, so the pruning masks do not change.
* kill and resume vs uninterrupted: bit for bit (masks and weights). Both runs train the same replica count, so
  the same kernels run on the same shapes.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import kill_inside_round_1, make_toy
from impkit.model import FCN
from impkit.presets import make_config
from impkit.runs import Run, ensure_runs, train_configs
from impkit.train import GraphStepper, Stepper, draw_chunk, make_stepper, stack_datasets

TESTS = Path(__file__).resolve().parent
CUDA = torch.cuda.is_available()
NO_CUDA = "needs CUDA: torch.cuda.is_available() is False on this machine (run tools/gpu_session.py on a GPU)"
gpu = [pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason=NO_CUDA)]

# small `ci` runs on the toy dataset (conftest): a few seconds each on the CPU
OV = {"train.steps": 120, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 40,
      "prune.rounds": 2, "model.hidden": (16,), "data.options.n_train": 256, "data.options.n_test": 64}
BATCH_ATOL, BATCH_RTOL = 1e-5, 1e-4
CLI = ("import sys; sys.path.insert(0, {tests!r}); import conftest; from impkit.cli import main; "
       "sys.exit(main(sys.argv[1:]))")


def _stack(seeds: list[int], device: str) -> tuple[FCN, object]:
    """R = len(seeds) replicas of FCN [64, 16, 2] with random masks and their toy data, on ``device``."""
    R = len(seeds)
    g = torch.Generator().manual_seed(7)
    m = FCN([64, 16, 2], replicas=R, seeds=seeds)
    m.set_masks([torch.rand(R, 16, 64, generator=g) > 0.4, torch.rand(R, 2, 16, generator=g) > 0.2])
    trs = [make_toy(split="train", seed=s, n_train=256) for s in seeds]
    tes = [make_toy(split="test", seed=s, n_test=64) for s in seeds]
    return m.to(device), stack_datasets(trs, tes, device=device)


# ---------------------------------------------------------------------------------------------------------------
# the helpers (device in, assertions inside)
# ---------------------------------------------------------------------------------------------------------------
def check_graph_equals_eager(device: str, steps: int = 40, batch: int = 8) -> None:
    """``make_stepper(compile="graph")`` (a CUDA graph on CUDA; the eager step elsewhere) and the eager
    :class:`Stepper` take the same ``steps`` minibatches from identical models: per-step losses (R,) and every
    parameter afterwards must be equal bit for bit."""
    seeds = [3, 4, 5]
    ma, da = _stack(seeds, device)
    mb, db = _stack(seeds, device)
    graph = make_stepper(ma, da, 0.1, batch, compile="graph")
    if torch.device(device).type == "cuda":
        assert isinstance(graph, GraphStepper), "CUDA graph capture failed (make_stepper fell back to eager)"
    eager = Stepper(mb, db, 0.1)
    idx = (draw_chunk(seeds, da.sizes, 0, batch, chunk=steps) + da.offsets.cpu().view(1, -1, 1)).to(device)
    for i in range(steps):
        la, lb = graph(idx[i]), eager(idx[i])
        assert torch.equal(la, lb), (i, la, lb)
    for (name, a), b in zip(ma.state_dict().items(), mb.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(ma.weights[0], _stack(seeds, device)[0].weights[0])  # it did train


def check_batched_equals_alone(device: str, root: Path) -> None:
    """The paper's batch on toy data (2 seeds x {IMP, one-shot, random}: 2 replicas in round 0, 6 in rounds 1-2)
    vs the random-pruning run of seed 1 trained alone (1 replica): same masks, weights within the tolerance."""
    runs = ensure_runs("ci", "toy", seeds=(0, 1), root=root / "batch", overrides=OV, device=device, progress=False)
    ref = next(r for r in runs if (r.method, r.seed) == ("random", 1))
    cfg = make_config("ci", "toy", "random", 1, {**OV, "train.device": device})
    alone = train_configs([cfg], root / "alone", device=device, progress=False)[0]
    assert ref.metrics(1)["replicas_in_batch"] == 6 and alone.metrics(1)["replicas_in_batch"] == 1
    for n in range(OV["prune.rounds"] + 1):
        assert all(np.array_equal(a, b) for a, b in zip(alone.mask(n), ref.mask(n))), f"round {n}: masks differ"
        for (wa, ba), (wb, bb) in zip(alone.weights(n), ref.weights(n)):
            assert np.allclose(wa, wb, atol=BATCH_ATOL, rtol=BATCH_RTOL), f"round {n}: weights differ"
            assert np.allclose(ba, bb, atol=BATCH_ATOL, rtol=BATCH_RTOL), f"round {n}: biases differ"


def check_kill_and_resume(device: str, root: Path) -> None:
    """``impkit run --device DEVICE`` in a child process, SIGKILLed after its first round-1 checkpoint, then run
    again (stale lock reclaimed, resumed from the checkpoint) equals the same run trained without interruption:
    masks and weights of every round bit for bit."""
    ov = {**OV, "train.steps": 1200, "train.t_rewind": 10, "train.eval_every": 400, "train.checkpoint_every": 100,
          "prune.rounds": 2, "model.hidden": (8,), "data.options.n_train": 128, "data.options.n_test": 32}
    sets = [a for k, v in ov.items() for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
    args = ["run", "--preset", "ci", "--dataset", "toy", "--method", "imp", "--seed", "0", "--quiet",
            "--device", device, "--out", str(root / "killed"), *sets]
    child = [sys.executable, "-c", CLI.format(tests=str(TESTS)), *args]
    ck = kill_inside_round_1(child, root / "killed", timeout=120)
    run_dir = ck.parent.parent
    assert not (run_dir / "round_01" / "metrics.json").exists()  # killed inside round 1
    res = subprocess.run(child, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    killed = Run(run_dir)
    assert killed.metrics(1)["resumed_from"] is not None and killed.metrics(1)["resumed_from"] > 10
    clean = train_configs([killed.config], root / "clean", device=device, progress=False)[0]
    assert killed.rounds_done == clean.rounds_done == [0, 1, 2]
    for n in range(3):
        assert all(np.array_equal(a, b) for a, b in zip(killed.mask(n), clean.mask(n))), f"round {n}: masks"
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(killed.weights(n), clean.weights(n))), f"round {n}"


# ---------------------------------------------------------------------------------------------------------------
# CUDA
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
def test_cuda_graph_step_equals_eager_step():
    check_graph_equals_eager("cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
def test_cuda_replica_in_batch_equals_replica_alone(tmp_path):
    check_batched_equals_alone("cuda", tmp_path)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason=NO_CUDA)
def test_cuda_kill_and_resume_equals_uninterrupted(tmp_path):
    check_kill_and_resume("cuda", tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# the same helpers on the CPU (the code path of the GPU tests, proven on every machine)
# ---------------------------------------------------------------------------------------------------------------
def test_cpu_stepper_equals_eager_step():
    check_graph_equals_eager("cpu")


def test_cpu_replica_in_batch_equals_replica_alone(tmp_path):
    check_batched_equals_alone("cpu", tmp_path)


def test_cpu_kill_and_resume_equals_uninterrupted(tmp_path):
    check_kill_and_resume("cpu", tmp_path)


def test_gpu_tests_skip_without_cuda_and_say_why():
    """Without CUDA the gpu tests are skips naming the reason, never passes."""
    if CUDA:
        pytest.skip("this machine has CUDA: the gpu tests run instead of skipping")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-m", "gpu", "-p", "no:cacheprovider",
                          str(TESTS / "test_gpu.py")], capture_output=True, text=True, cwd=TESTS.parent)
    assert "3 skipped" in res.stdout and "passed" not in res.stdout, res.stdout
    assert "needs CUDA" in res.stdout, res.stdout
