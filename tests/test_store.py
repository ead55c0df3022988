import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from impkit.presets import make_config
from impkit.runs import Run, train_configs
from impkit.store import (ConfigMismatchError, CorruptFileError, RunLock, RunLockedError, load_npz,
                          prepare_run_dir, read_config, save_npz)

TESTS = Path(__file__).resolve().parent
OV = {"train.steps": 60, "train.t_rewind": 5, "train.eval_every": 30, "prune.rounds": 1, "model.hidden": (8,),
      "data.options.n_train": 128, "data.options.n_test": 32}
CLI = ("import sys; sys.path.insert(0, {tests!r}); import conftest; from impkit.cli import main; "
       "sys.exit(main(sys.argv[1:]))")


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-c", CLI.format(tests=str(TESTS)), *args], capture_output=True,
                          text=True, **kw)


def test_atomic_npz_and_corruption(tmp_path):
    p = tmp_path / "a.npz"
    save_npz(p, {"x": np.arange(5)})
    assert [f.name for f in tmp_path.iterdir()] == ["a.npz"]  # no temp files left
    assert load_npz(p)["x"].tolist() == [0, 1, 2, 3, 4]
    p.write_bytes(p.read_bytes()[:40])
    with pytest.raises(CorruptFileError, match="a.npz"):
        load_npz(p)


def test_truncated_round_file_names_it(tmp_path):
    r = train_configs([make_config("ci", "toy", "imp", 0, OV)], tmp_path, progress=False)[0]
    f = r.path / "round_01" / "mask.npz"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match=r"round_01.mask\.npz"):
        r.mask(1)
    m = r.path / "round_01" / "metrics.json"
    m.write_text(m.read_text()[:20])
    with pytest.raises(CorruptFileError, match=r"round_01.metrics\.json"):
        r.metrics(1)
    res = run_cli("show", str(r.path))
    assert res.returncode == 2 and "metrics.json" in res.stderr and "Traceback" not in res.stderr


def test_refuses_other_config(tmp_path):
    cfg = make_config("ci", "toy", "imp", 0, OV)
    path = prepare_run_dir(tmp_path, cfg)
    other = cfg.replace(**{"train.lr": 0.05})
    (tmp_path / path.name).rename(tmp_path / "x")
    path2 = prepare_run_dir(tmp_path, other)
    (tmp_path / "x" / "config.json").replace(path2 / "config.json")  # a dir whose config differs
    with pytest.raises(ConfigMismatchError, match=r"different config \(train\.lr is 0\.1 in config\.json, 0\.05 in"):
        prepare_run_dir(tmp_path, other)
    assert read_config(path2).train.lr == 0.1  # untouched
    with pytest.raises(ConfigMismatchError, match=r"train\.lr is 0\.1 in config\.json, 0\.05 in the settings the run"):
        Run(path2)  # a config.json that is not the run's own is never read as if it were


def test_lock(tmp_path):
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
        with pytest.raises(RunLockedError, match="locked"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / ".lock").exists()
    # a lock left by a dead process is reclaimed
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    (tmp_path / ".lock").write_text(str(p.pid))
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text() == str(os.getpid())


def test_sigkill_mid_round_then_resume(tmp_path):
    ov = {**OV, "train.steps": 1200, "train.t_rewind": 10, "train.eval_every": 400, "train.checkpoint_every": 100,
          "prune.rounds": 2}
    sets = [a for k, v in ov.items() for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
    args = ["run", "--preset", "ci", "--dataset", "toy", "--method", "imp", "--seed", "0", "--quiet",
            "--out", str(tmp_path / "killed"), *sets]
    proc = subprocess.Popen([sys.executable, "-c", CLI.format(tests=str(TESTS)), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    ck = None
    while time.time() < deadline and proc.poll() is None:
        found = list((tmp_path / "killed").glob("*/round_01/checkpoint.pt"))
        if found:
            ck = found[0]
            break
        time.sleep(0.01)
    assert ck is not None, "the run never reached a round-1 checkpoint"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run_dir = ck.parent.parent
    assert (run_dir / ".lock").exists() and not (run_dir / "round_01" / "metrics.json").exists()
    res = run_cli(*args)  # stale lock reclaimed, resumes from the checkpoint
    assert res.returncode == 0, res.stderr
    killed = Run(run_dir)
    assert killed.metrics(1)["resumed_from"] is not None and killed.metrics(1)["resumed_from"] > 10
    clean = train_configs([killed.config], tmp_path / "clean", progress=False)[0]
    assert killed.rounds_done == clean.rounds_done == [0, 1, 2]
    for n in range(3):
        assert all(np.array_equal(a, b) for a, b in zip(killed.mask(n), clean.mask(n)))
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(killed.weights(n), clean.weights(n)))
