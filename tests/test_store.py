import errno
import json
import os
import stat
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import kill_inside_round_1
from impkit.presets import make_config
from impkit.runs import Run, train_configs
from impkit.store import (ConfigMismatchError, CorruptFileError, RunLock, RunLockedError, StoreWriteError, load_json,
                          load_npz, prepare_run_dir, read_config, save_json, save_npz)

TESTS = Path(__file__).resolve().parent
OV = {"train.steps": 60, "train.t_rewind": 5, "train.eval_every": 30, "prune.rounds": 1, "model.hidden": (8,),
      "data.options.n_train": 128, "data.options.n_test": 32}
CLI = ("import sys; sys.path.insert(0, {tests!r}); import conftest; from impkit.cli import main; "
       "sys.exit(main(sys.argv[1:]))")


def _file_size_limit(n):
    def set_limit():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))  # Python ignores SIGXFSZ: writes fail with EFBIG

    return set_limit


def run_cli(*args, fsize=None, **kw):
    """``impkit ARGS`` in a child process (with the test dataset ``toy``); ``fsize``: its file-size limit in bytes."""
    return subprocess.run([sys.executable, "-c", CLI.format(tests=str(TESTS)), *args], capture_output=True,
                          text=True, preexec_fn=_file_size_limit(fsize) if fsize else None, **kw)


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


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_lock(tmp_path):
    me = f"{socket.gethostname()}:{os.getpid()}"
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text() == me
        with pytest.raises(RunLockedError, match=f"locked by running process {os.getpid()} on this host"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / ".lock").exists()
    assert [f.name for f in tmp_path.iterdir()] == []  # no temp files left behind


def test_lock_of_dead_process_on_this_host_is_reclaimed(tmp_path):
    (tmp_path / ".lock").write_text(f"{socket.gethostname()}:{_dead_pid()}")
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text() == f"{socket.gethostname()}:{os.getpid()}"
    assert not (tmp_path / ".lock").exists()


def test_lock_held_by_another_host_is_refused(tmp_path):
    lock = tmp_path / ".lock"
    # a dead pid, and even this process's pid: on another host neither says anything about the owner
    for pid in (_dead_pid(), os.getpid()):
        lock.write_text(f"gpu-node-07:{pid}")
        with pytest.raises(RunLockedError) as e:
            RunLock(tmp_path).acquire()
        msg = str(e.value)
        assert "'gpu-node-07'" in msg and f"process {pid}" in msg and str(lock) in msg and "delete" in msg
        assert lock.read_text() == f"gpu-node-07:{pid}"  # untouched
    # cleared by hand as the message says: then it is ours
    lock.unlink()
    with RunLock(tmp_path):
        assert lock.read_text().startswith(socket.gethostname() + ":")


def test_legacy_pid_only_lock_is_read_as_this_host(tmp_path):
    lock = tmp_path / ".lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(str(sleeper.pid))  # written by an impkit before host:pid locks
        with pytest.raises(RunLockedError, match=f"running process {sleeper.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    with RunLock(tmp_path):  # its owner is now dead: reclaimed
        assert lock.read_text() == f"{socket.gethostname()}:{os.getpid()}"


def test_unreadable_lock_refused_while_young_reclaimed_when_old(tmp_path):
    lock = tmp_path / ".lock"
    lock.write_text("")  # e.g. an old impkit that died between creating and writing it
    with pytest.raises(RunLockedError, match="unreadable lock"):
        RunLock(tmp_path).acquire()
    old = time.time() - 2 * RunLock.STALE_UNREADABLE_S
    os.utime(lock, (old, old))
    with RunLock(tmp_path):
        assert lock.read_text().endswith(f":{os.getpid()}")


def test_clear_deletes_only_the_named_hosts_dead_locks(tmp_path):
    lock, here = tmp_path / ".lock", socket.gethostname()
    lock.write_text("gpu-node-07:42")
    assert not RunLock.clear(tmp_path, "gpu-node-08") and lock.exists()
    assert RunLock.clear(tmp_path, "gpu-node-07") and not lock.exists()
    assert not RunLock.clear(tmp_path, "gpu-node-07")  # nothing to clear
    with RunLock(tmp_path):  # a live process on this host keeps its lock
        assert not RunLock.clear(tmp_path, here) and lock.exists()
    lock.write_text(str(_dead_pid()))  # legacy pid-only: this host
    assert RunLock.clear(tmp_path, here) and not lock.exists()


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    lk = RunLock(tmp_path).acquire()
    (tmp_path / ".lock").write_text("gpu-node-07:42")  # someone judged ours stale and took the run
    lk.release()
    assert (tmp_path / ".lock").read_text() == "gpu-node-07:42"


def _race(run_dir, start, results):
    start.wait()
    try:
        with RunLock(run_dir):
            results.put("won")
            time.sleep(1.0)
    except RunLockedError:
        results.put("refused")


def test_stale_lock_is_reclaimed_by_exactly_one_of_many(tmp_path):
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    for _ in range(2):  # the race is timing-dependent: twice
        (tmp_path / ".lock").write_text(f"{socket.gethostname()}:{_dead_pid()}")
        start, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(tmp_path, start, results)) for _ in range(4)]
        for p in procs:
            p.start()
        start.set()
        for p in procs:
            p.join(30)
        outcomes = sorted(results.get(timeout=5) for _ in procs)
        assert outcomes == ["refused"] * 3 + ["won"], outcomes
        assert not (tmp_path / ".lock").exists()


def test_sigkill_mid_round_then_resume(tmp_path):
    ov = {**OV, "train.steps": 1200, "train.t_rewind": 10, "train.eval_every": 400, "train.checkpoint_every": 100,
          "prune.rounds": 2}
    sets = [a for k, v in ov.items() for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
    args = ["run", "--preset", "ci", "--dataset", "toy", "--method", "imp", "--seed", "0", "--quiet",
            "--out", str(tmp_path / "killed"), *sets]
    ck = kill_inside_round_1([sys.executable, "-c", CLI.format(tests=str(TESTS)), *args], tmp_path / "killed")
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


# ---------------------------------------------------------------------------------------------------------------
# failed writes lose nothing; files keep the umask
# ---------------------------------------------------------------------------------------------------------------
WRITE_PAST_LIMIT = """
import resource, sys
from impkit.store import save_json, StoreWriteError
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
try:
    save_json(sys.argv[1], {"x": "y" * 5000})
except StoreWriteError as e:
    print(e)
    sys.exit(3)
"""


def test_a_write_past_the_file_size_limit_keeps_the_old_file(tmp_path):
    p = tmp_path / "metrics.json"
    save_json(p, {"old": 1})
    res = subprocess.run([sys.executable, "-c", WRITE_PAST_LIMIT, str(p)], capture_output=True, text=True)
    assert res.returncode == 3, res.stderr
    assert str(p) in res.stdout and "File too large" in res.stdout and "ulimit -f" in res.stdout
    assert load_json(p) == {"old": 1} and [f.name for f in tmp_path.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "free disk space"), (errno.EACCES, "writable"),
                                        (errno.EIO, "rerun the same command")])
def test_a_failed_write_names_the_file_and_the_fix(tmp_path, monkeypatch, code, words):
    p = tmp_path / "round_01" / "trained.npz"
    save_npz(p, {"W0": np.ones(3)})

    def fail(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(StoreWriteError) as e:
        save_npz(p, {"W0": np.zeros(3)})
    assert str(p) in str(e.value) and words in str(e.value) and os.strerror(code) in str(e.value)
    monkeypatch.undo()
    assert load_npz(p)["W0"].tolist() == [1, 1, 1] and [f.name for f in p.parent.iterdir()] == ["trained.npz"]


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_umask_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        save_json(tmp_path / "a.json", {})
        save_npz(tmp_path / "a.npz", {"x": np.zeros(1)})
    finally:
        os.umask(old)
    for f in ("a.json", "a.npz"):
        assert stat.S_IMODE((tmp_path / f).stat().st_mode) == mode, f


def test_a_file_in_the_way_of_the_run_root(tmp_path):
    f = tmp_path / "runs"
    f.write_text("x")
    cfg = make_config("ci", "toy", "imp", 0, OV)
    for root in (f, f / "sub"):
        with pytest.raises(StoreWriteError, match=f"{f} is a file, not a directory; pass a directory"):
            train_configs([cfg], root, progress=False)
    assert f.read_text() == "x"


# ---------------------------------------------------------------------------------------------------------------
# preflight, identity, divergence
# ---------------------------------------------------------------------------------------------------------------
def test_preflight_creates_nothing_for_bad_data(tmp_path):
    from impkit.config import ConfigError

    for over, err, words in [({"model.input_dim": 10}, ConfigError, "model.input_dim: 10 does not match"),
                             ({"data.root": str(tmp_path / "nowhere")}, FileNotFoundError, "data.root:")]:
        with pytest.raises(err, match=words):
            train_configs([make_config("ci", "toy", "imp", 0, {**OV, **over})], tmp_path / "runs", progress=False)
        assert not (tmp_path / "runs").exists()


def test_identity_record_catches_a_hand_edited_config(tmp_path):
    r = train_configs([make_config("ci", "toy", "imp", 0, OV)], tmp_path, progress=False)[0]
    rec = json.loads((r.path / "identity.json").read_text())
    assert rec["name"] == r.path.name and rec["settings"]["train.steps"] == 60
    c = json.loads((r.path / "config.json").read_text())
    c["train"]["steps"] = 61
    (r.path / "config.json").write_text(json.dumps(c))
    with pytest.raises(ConfigMismatchError, match=r"train\.steps is 61 in config\.json, 60 in the settings"):
        Run(r.path)
    # an older run without identity.json: the directory name (hash) still catches it
    (r.path / "identity.json").unlink()
    with pytest.raises(ConfigMismatchError, match=r"does not match its run directory: .*train\.steps=61.*give the "
                                                  r"name toy-imp-s0-"):
        Run(r.path)
    c["train"]["steps"] = 60
    (r.path / "config.json").write_text(json.dumps(c))
    assert Run(r.path).config.train.steps == 60


def test_divergence_is_recorded_and_refused_on_rerun(tmp_path):
    from impkit.store import RunDivergedError
    from impkit.train import TrainingDiverged

    cfgs = [make_config("ci", "toy", m, 0, {**OV, "train.lr": 1e6}) for m in ("imp", "random")]
    with pytest.raises(TrainingDiverged, match=r"round 0 at step \d+ for .*status\.json.*--set train\.lr=100000"):
        train_configs(cfgs, tmp_path, progress=False)
    runs = [Run(p) for p in sorted(tmp_path.iterdir())]
    for r in runs:  # round 0 is shared by the methods: both are marked
        assert r.status["status"] == "diverged" and r.status["round"] == 0 and r.status["train.lr"] == 1e6
        assert not (r.path / ".lock").exists()
    with pytest.raises(RunDivergedError, match=r"diverged before \(round 0, step \d+, loss nan.*delete .*status\.json"):
        train_configs(cfgs, tmp_path, progress=False)


def test_corrupt_config_and_status_name_the_fix(tmp_path):
    r = train_configs([make_config("ci", "toy", "imp", 0, OV)], tmp_path, progress=False)[0]
    (r.path / "config.json").write_text('{"train": {"steps": "many"')
    with pytest.raises(CorruptFileError, match=f"delete the run directory {r.path} and rerun"):
        Run(r.path)
    (r.path / "config.json").write_text('["not", "a", "config"]')
    with pytest.raises(CorruptFileError, match="is not a run config"):
        Run(r.path)
    (r.path / "config.json").write_text('{"train": {"stepz": 3}}')
    with pytest.raises(CorruptFileError, match=r"train\.stepz"):
        Run(r.path)


def test_an_unreadable_file_is_not_called_corrupt(tmp_path, monkeypatch):
    from impkit.store import StoreError

    p = tmp_path / "metrics.json"
    save_json(p, {"a": 1})

    def denied(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(type(p), "read_text", denied)
    with pytest.raises(StoreError) as e:
        load_json(p)
    assert not isinstance(e.value, CorruptFileError) and "make" in str(e.value) and "readable" in str(e.value)
    assert "delete" not in str(e.value)
