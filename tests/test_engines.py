"""Ray stays optional: the core never imports it, and without it `--engine ray` says how to install it."""
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SPEC = '''
preset = "ci"
methods = ["imp"]
seeds = [0]
[overrides]
"train.steps" = 20
"train.t_rewind" = 2
"train.eval_every" = 10
"prune.rounds" = 1
"model.hidden" = [4]
"data.options.n_train" = 80
"data.options.n_test" = 20
'''


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          cwd=ROOT)


def test_core_and_local_engine_never_import_ray(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    res = _python('''
        import sys
        import impkit
        import impkit.cli, impkit.grid, impkit.engines, impkit.runs
        assert "ray" not in sys.modules, "import"
        from impkit.cli import main
        for args in (["sweep", sys.argv[1], "--out", sys.argv[2], "--dry-run", "--engine", "ray"],
                     ["sweep", sys.argv[1], "--out", sys.argv[2], "--quiet"],
                     ["run", "--preset", "ci", "--seed", "0", "--out", sys.argv[2], "--quiet", "--set",
                      "train.steps=20", "--set", "train.t_rewind=2", "--set", "prune.rounds=1"]):
            rc = main(args)
            assert rc == 0, (args, rc)
            assert "ray" not in sys.modules, args
        print("no ray")
    ''', str(spec), str(tmp_path / "runs"))
    assert res.returncode == 0 and res.stdout.endswith("no ray\n"), res.stderr + res.stdout
    assert "sweep finished" in res.stdout and "1/1 batches ok" in res.stdout


def test_engine_ray_without_ray_installed_says_how_to_install(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    res = _python('''
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed: `import ray` raises ImportError
        from impkit.cli import main
        sys.exit(main(["sweep", sys.argv[1], "--out", sys.argv[2], "--engine", "ray"]))
    ''', str(spec), str(tmp_path / "runs"))
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith("impkit: error: --engine ray needs Ray")
    assert "pip install 'impkit[ray]'" in res.stderr and "make ray" in res.stderr
    assert not any((tmp_path / "runs").glob("*/round_00")), "nothing may train when the engine is missing"


class FakeRay(types.ModuleType):
    """Just enough of Ray's API to see what RayEngine asks for on a cluster with ``resources`` (no processes)."""

    def __init__(self, resources: dict):
        super().__init__("ray")
        self.resources, self.asked = resources, []
        self.exceptions = types.SimpleNamespace(RayError=RuntimeError)

    def is_initialized(self):
        return True  # "this process's session": the engine neither starts nor stops it

    def cluster_resources(self):
        return dict(self.resources)

    def remote(self, fn):
        fake = self

        class Task:
            def options(self, **kw):
                fake.asked.append(kw)
                return types.SimpleNamespace(remote=lambda payload, options: payload["index"])
        return Task()

    def wait(self, pending, num_returns=1):
        return pending[:num_returns], pending[num_returns:]

    def get(self, ref):
        return {"worker": f"node{ref}:1", "started": 0.0, "wall_s": 0.0, "error": None}


@pytest.mark.parametrize("resources, device, gpus_per_task, slots", [
    ({"CPU": 16.0, "GPU": 4.0}, "auto", 1.0, 4),   # GPUs present: one per task, a batch per GPU
    ({"CPU": 16.0, "GPU": 4.0}, "cpu", 0.0, 16),   # --device cpu: no GPU asked for, a batch per CPU
    ({"CPU": 16.0}, "auto", 0.0, 16),
])
def test_ray_engine_asks_for_a_gpu_per_task_when_the_cluster_has_gpus(monkeypatch, tmp_path, resources, device,
                                                                     gpus_per_task, slots):
    from impkit import grid
    from impkit.engines import BatchOptions, RayEngine

    fake = FakeRay(resources)
    monkeypatch.setitem(sys.modules, "ray", fake)
    engine = RayEngine(device=device)
    assert engine.gpus_per_task == gpus_per_task and engine.slots() == slots
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace('seeds = [0]', 'seeds = [0, 1, 2, 3, 4, 5, 6, 7]'))
    cfgs = grid.expand(grid.load_spec(spec))
    plan = grid.plan(cfgs, tmp_path / "runs", parts=engine.slots())
    assert len(plan.batches) == min(8, slots)
    results = engine.run(plan, BatchOptions(device=device))
    assert [r.ok for r in results] == [True] * len(plan.batches)
    assert all(kw["num_gpus"] == gpus_per_task and kw["num_cpus"] == 1.0 and kw["max_retries"] == 0
               for kw in fake.asked) and len(fake.asked) == len(plan.batches)
    engine.close()  # not its session: left alone


def test_ray_engine_refuses_cuda_on_a_cluster_without_gpus(monkeypatch):
    from impkit.engines import EngineUnavailable, RayEngine

    monkeypatch.setitem(sys.modules, "ray", FakeRay({"CPU": 8.0}))
    with pytest.raises(EngineUnavailable, match="--device cuda: the Ray cluster has no GPUs"):
        RayEngine(device="cuda")
