"""`impkit sweep --engine ray` on a small local Ray cluster: the same bits as `--engine local`, and a worker killed
mid-batch is reported and resumed by the next sweep.

One cluster serves the module: started in this process by :class:`impkit.engines.RayEngine` (2 CPUs, no dashboard,
a small object store, loopback only, no usage stats); the sweeps run as CLI subprocesses that join it with
``--address``. Ray is an extra (`make ray`); without it these tests are skipped, except in CI where they must run.
"""
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from impkit.runs import Run, list_runs

if importlib.util.find_spec("ray") is None:  # not `import ray`: Ray must be imported after the loopback switch
    if os.environ.get("CI"):
        raise RuntimeError("Ray is not installed but CI must run the Ray tests: `make ray` installs impkit[ray]")
    pytest.skip("Ray is not installed (make ray / pip install 'impkit[ray]')", allow_module_level=True)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

# 6 runs (3 gains × 2 seeds) of a shrunken ci task; `steps` is set per test
SPEC = '''
preset = "ci"
methods = ["imp"]
seeds = [0, 1]
[overrides]
"train.steps" = {steps}
"train.t_rewind" = 5
"train.eval_every" = {eval_every}
"train.checkpoint_every" = {checkpoint_every}
"prune.rounds" = 2
"model.hidden" = [16]
"data.options.n_train" = 400
"data.options.n_test" = 100
[grid]
"data.options.g" = [3.0, 10.0, 30.0]
'''


@pytest.fixture(scope="module")
def cluster():
    """The address of a 2-CPU local Ray cluster started (and finally stopped) by impkit's own engine."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only (read when Ray is imported)
        # the workers import impkit from this checkout, as the test process does
        mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        from impkit.engines import RayEngine

        engine = RayEngine(num_cpus=2)
        ray = engine.ray
        assert ray.cluster_resources().get("CPU") == 2.0 and engine.slots() == 2
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
        engine.close()
        assert not ray.is_initialized() and "shutdown_s" in engine.timings


def _sweep(spec: Path, out: Path, *args: str, wait: bool = True):
    cmd = [sys.executable, "-m", "impkit", "sweep", str(spec), "--out", str(out), "--quiet", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def _local(spec: Path, out: Path) -> None:
    """The same sweep with the local engine, in this process (saves a Python and torch start-up per test)."""
    from impkit.cli import main

    assert main(["sweep", str(spec), "--out", str(out), "--quiet", "--engine", "local"]) == 0


def _compare(a: Path, b: Path) -> str:
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "compare_runs.py"), str(a), str(b)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _masks_equal(a: Path, b: Path) -> None:
    ra, rb = list_runs(a), list_runs(b)
    assert [r.path.name for r in ra] == [r.path.name for r in rb] and len(ra) == 6
    for x, y in zip(ra, rb):
        assert x.rounds_done == y.rounds_done == [0, 1, 2]
        for n in x.rounds_done:
            for mx, my in zip(x.masks(n).arrays().values(), y.masks(n).arrays().values()):
                assert mx.dtype == my.dtype and np.array_equal(mx, my)


def test_ray_sweep_gives_the_masks_of_the_local_engine(tmp_path, cluster):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(steps=60, eval_every=30, checkpoint_every=0))
    t = time.perf_counter()
    res = _sweep(spec, tmp_path / "ray", "--engine", "ray", "--address", cluster)
    t_ray = time.perf_counter() - t
    assert res.returncode == 0, res.stderr + res.stdout
    out = res.stdout
    assert "6 to train in 2 batches" in out  # spread over the cluster's 2 CPU slots
    assert out.count(" runs done in ") == 2 and "[2/2] batch" in out and "2/2 batches ok" in out
    assert "runs: 6/6 complete" in out and f"ray: joined the cluster at {cluster} in" in out
    # both batches ran in Ray workers (not in the driver), which held the run locks as host:pid
    workers = {l.split(" on ")[1].split(" ")[0] for l in out.splitlines() if " runs done in " in l}
    assert all(w.startswith(socket.gethostname() + ":") for w in workers)
    t = time.perf_counter()
    _local(spec, tmp_path / "local")
    t_local = time.perf_counter() - t
    _masks_equal(tmp_path / "ray", tmp_path / "local")
    assert "bit-identical" in _compare(tmp_path / "ray", tmp_path / "local")
    print(f"\nwall: ray (CLI joining the cluster) {t_ray:.1f} s, local (in this process) {t_local:.1f} s")


def test_worker_killed_mid_batch_is_reported_and_resumed(tmp_path, cluster):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(steps=800, eval_every=400, checkpoint_every=50))
    root = tmp_path / "ray"
    proc = _sweep(spec, root, "--engine", "ray", "--address", cluster, wait=False)
    victim = None
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:  # a run mid-round 1, past a checkpoint
            found = sorted(root.glob("*/round_01/checkpoint.pt"))
            if found:
                owner = (found[0].parent.parent / ".lock").read_text()
                host, pid = owner.rsplit(":", 1)
                assert host == socket.gethostname() and int(pid) != proc.pid  # a Ray worker holds the run
                os.kill(int(pid), signal.SIGKILL)
                victim = found[0].parent.parent
                break
            time.sleep(0.01)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert victim is not None, f"no run reached a round-1 checkpoint:\n{out}\n{err}"
    assert proc.returncode == 1, err + out
    fail = next(l for l in out.splitlines() if " FAILED" in l)
    assert "WorkerCrashedError" in fail or "died" in fail, fail
    assert victim.name in fail and "to resume" in fail
    assert "1/2 batches ok, 1 failed" in out and "rerun the same command" in out
    assert not (victim / "round_02" / "metrics.json").exists() and (victim / ".lock").exists()
    # the rerun reclaims the dead worker's lock and resumes the killed run from its checkpoint
    res = _sweep(spec, root, "--engine", "ray", "--address", cluster)
    assert res.returncode == 0, res.stderr + res.stdout
    assert "3 complete" in res.stdout and "3 to train" in res.stdout and "runs: 6/6 complete" in res.stdout
    resumed = Run(victim).metrics(1)["resumed_from"]
    assert resumed is not None and resumed > Run(victim).config.train.t_rewind  # mid-round, from a checkpoint
    _local(spec, tmp_path / "local")
    _masks_equal(root, tmp_path / "local")
    assert "bit-identical" in _compare(root, tmp_path / "local")
