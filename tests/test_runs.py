"""impkit.runs: up-front refusals (check_memory through preflight) leave no run directory behind."""
import pytest

from impkit.plan import MemoryPlanError
from impkit.presets import make_config
from impkit.runs import check_memory, ensure_runs, train_configs

OV = {"train.steps": 40, "train.t_rewind": 5, "train.eval_every": 20, "train.checkpoint_every": 0,
      "prune.rounds": 1, "data.options.n_train": 96, "data.options.n_test": 32}
HUGE = {**OV, "model.hidden": (1_000_000_000,)}  # 10^9 hidden units on 64 inputs: ~1.1 TB for one replica


def test_ensure_runs_refuses_a_replica_that_cannot_fit_before_creating_anything(tmp_path):
    root = tmp_path / "runs"
    with pytest.raises(MemoryPlanError, match=r"^model\.hidden=\[1000000000\]: one replica needs .* TB .*is free"):
        ensure_runs("ci", "toy", methods=("imp",), seeds=[0], root=root, overrides=HUGE, progress=False)
    assert not root.exists()


def test_a_given_memory_budget_is_what_is_checked(tmp_path):
    cfg = make_config("ci", "toy", "imp", 0, {**OV, "model.hidden": (2000,)})
    with pytest.raises(MemoryPlanError, match=r"only 1\.00 MB is free \(--device-memory\)"):
        train_configs([cfg], tmp_path / "runs", device="cpu", progress=False, memory_budget=10**6)
    assert not (tmp_path / "runs").exists()
    check_memory([cfg], "cpu", memory_budget=10**9)  # fits: nothing raised, nothing written
    assert not (tmp_path / "runs").exists()
    # a batch of many replicas that fit one at a time is not refused: training splits it
    cfgs = [make_config("ci", "toy", m, s, {**OV, "model.hidden": (16,)}) for m in ("imp", "random") for s in (0, 1)]
    runs = train_configs(cfgs, tmp_path / "runs", device="cpu", progress=False, memory_budget=2 * 10**6)
    assert [r.rounds_done for r in runs] == [[0, 1]] * 4
