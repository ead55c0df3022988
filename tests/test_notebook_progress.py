"""tools/run_notebooks.py: the progress heartbeat (read from a fake run store) and the provenance it records."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import load_script

from impkit import runformat

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_script("tools/run_notebooks.py", "run_notebooks")


def _fake_run(root: Path, name: str, rounds: int, done: int, partial: bool = False, locked: bool = False) -> Path:
    """A run directory in impkit's format with ``done`` complete rounds out of rounds 0..``rounds``."""
    rf = runformat.RunFiles(root / name)
    rf.dir.mkdir(parents=True)
    rf.config.write_text(json.dumps({"prune": {"rounds": rounds}, "seed": 0}))
    for n in range(done):
        r = rf.round(n)
        r.dir.mkdir()
        for f in (r.mask, r.trained, r.sparsity, r.metrics):
            f.write_bytes(b"")
    if partial:  # a round in progress: checkpoint and mask, no metrics yet
        r = rf.round(done)
        r.dir.mkdir()
        r.mask.write_bytes(b"")
        r.checkpoint.write_bytes(b"")
    if locked:
        rf.lock.write_text("12345")
    return rf.dir


def test_store_progress_counts_runs_and_complete_rounds(tmp_path):
    tool = _tool()
    assert tool.store_progress(tmp_path / "missing") == {"runs": 0, "finished": 0, "rounds_done": 0,
                                                         "rounds_total": 0, "training": 0}
    _fake_run(tmp_path, "nlgp-imp-s0-aaaa", rounds=10, done=11)
    _fake_run(tmp_path, "nlgp-imp-s1-bbbb", rounds=10, done=4, partial=True, locked=True)
    _fake_run(tmp_path, "nlgp-random-s0-cccc", rounds=3, done=0)
    (tmp_path / "not-a-run").mkdir()                # no config.json: ignored
    (tmp_path / "stray.txt").write_text("")
    assert tool.store_progress(tmp_path) == {"runs": 3, "finished": 1, "rounds_done": 15, "rounds_total": 26,
                                             "training": 1}


def test_progress_line():
    tool = _tool()
    now = {"runs": 3, "finished": 1, "rounds_done": 15, "rounds_total": 26, "training": 1}
    line = tool.progress_line("03_imp_runs", 95.2, "runs", now, {**now, "rounds_done": 9}, 30)
    assert line == ("  ... 03_imp_runs: running for 1 min 35 s; runs: 3 runs (1 finished, 1 training), "
                    "15/26 rounds complete (+6 in the last 30 s)")
    empty = {"runs": 0, "finished": 0, "rounds_done": 0, "rounds_total": 0, "training": 0}
    assert tool.progress_line("x", 5, "runs", empty, None, 30) == "  ... x: running for 5 s; runs: no runs yet"


def test_heartbeat_reports_the_store_as_rounds_complete(tmp_path):
    tool = _tool()
    out = io.StringIO()
    run = _fake_run(tmp_path, "nlgp-imp-s0-aaaa", rounds=2, done=1, locked=True)
    with tool.Heartbeat("nb", tmp_path, interval=0.2, stream=out, shown_as="RUNS") as hb:
        deadline = time.monotonic() + 10
        while hb.lines < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        for n in (1, 2):                             # the sweep finishes its two remaining rounds
            r = runformat.RunFiles(run).round(n)
            r.dir.mkdir()
            for f in (r.mask, r.trained, r.metrics):
                f.write_bytes(b"")
        (run / runformat.LOCK).unlink()
        seen = hb.lines
        while hb.lines < seen + 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("  ... nb: running for ") for line in lines)
    assert "RUNS: 1 runs (0 finished, 1 training), 1/3 rounds complete" in lines[0]
    assert "RUNS: 1 runs (1 finished, 0 training), 3/3 rounds complete" in lines[-1]
    n = len(lines)
    time.sleep(0.5)
    assert len(out.getvalue().splitlines()) == n    # stopped when the notebook finished


def test_heartbeat_off():
    tool = _tool()
    out = io.StringIO()
    with tool.Heartbeat("nb", Path("."), interval=0, stream=out):
        time.sleep(0.1)
    assert out.getvalue() == ""


@pytest.mark.slow
def test_run_notebooks_prints_progress_and_records_provenance(tmp_path):
    """End to end on a tiny notebook that makes a run directory round by round: start/finish lines and heartbeats
    on the tool's stdout, nothing on the notebook's stderr, provenance in its metadata."""
    store = tmp_path / "runs"
    src = tmp_path / "tiny.py"
    src.write_text(
        '# %% tags=["parameters"]\npreset = "ci"\nrun_root = "runs"\ndevice = "auto"\n\n'
        "# %%\nimport json, pathlib, time\nrun = pathlib.Path(run_root) / 'toy-imp-s0-abcd'\n"
        "(run / 'round_00').mkdir(parents=True)\n"
        "(run / 'config.json').write_text(json.dumps({'prune': {'rounds': 1}}))\n"
        "for n in range(2):\n"
        "    d = run / f'round_{n:02d}'\n    d.mkdir(exist_ok=True)\n"
        "    for f in ('mask.npz', 'trained.npz', 'metrics.json'):\n        (d / f).write_text('')\n"
        "    time.sleep(1.0)\nprint('done')\n")
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--preset", "ci", "--runs",
                          str(store), "--device", "cpu", "--heartbeat", "0.4", "--out", str(tmp_path / "out"),
                          str(src)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert re.fullmatch(rf"\[\d\d:\d\d:\d\d\] 1/1 starting {re.escape(str(src))} on cpu \(\d+ cores\)", lines[0]), lines[0]
    assert lines[-1].startswith(f"executed {src} -> ")
    beats = [line for line in lines if line.startswith("  ... tiny: running for ")]
    assert beats and "2/2 rounds complete" in beats[-1], res.stdout
    nb = json.loads((tmp_path / "out" / "tiny.ipynb").read_text())
    ik = nb["metadata"]["impkit"]
    assert ik["preset"] == "ci" and ik["device"].startswith("cpu (") and not ik["smoke"]
    assert ik["source"] == src.resolve().as_posix()  # outside the repository: the absolute path
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert ik["commit"] == (head.stdout.strip() if head.returncode == 0 else "unknown")
    assert nb["metadata"]["papermill"]["duration"] >= 2.0
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr"]


def test_git_commit_outside_a_repository(tmp_path):
    assert _tool().git_commit(tmp_path) == ("unknown", False)
