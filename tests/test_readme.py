"""The commands of README.md work as written: every command line of its ```bash blocks is executed.

Only what a scratch directory needs is substituted: ``.venv/bin/`` becomes the directory of the interpreter running
the tests (the same venv under ``make test``), ``/tmp/`` a temporary directory, and ``<run-dir>`` the run directory
the README's ``impkit run`` line created. The commands run in a scratch directory that links ``notebooks/`` and
``tools/`` of the repository, so ``runs`` and ``$PWD/runs`` are scratch folders too. ``make`` targets (tested by
``make test`` itself) and ``jupyter lab`` (interactive) are not executed; nor are the commands that train for tens of
minutes or need a cluster, each covered by its own tests: a full ``impkit sweep`` (48 default-preset runs; the
engines are tested on ``ci`` sweeps in ``tests/test_engines.py`` and ``tests/test_ray_engine.py``), ``ray start`` and
sweeps on a Ray cluster, ``impkit.scale record`` (a default-preset rung, written into ``book/recorded``;
``tests/test_scale.py``), ``impkit.sweep record`` (a default-preset Fashion-MNIST screen, written into
``book/recorded``; ``tests/test_sweep.py``), ``impkit.decisive record`` and ``impkit.sparsifiers record``
(default-preset recordings, many minutes each; ``tests/test_decisive.py``, ``tests/test_sparsifiers.py``), and the
GPU session ``tools/gpu_session.sh`` without ``--smoke`` (it
needs a GPU; its smoke run is executed here and in ``tests/test_gpu_session.py``). They are listed here so that a new
kind of command in the README cannot go untested.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = (re.compile(r"^make\b"), re.compile(r"^\.venv/bin/jupyter lab\b"), re.compile(r"^ray start\b"),
           re.compile(r"^(\.venv/bin/)?python -m impkit sweep (?!.*--dry-run)"),
           re.compile(r"^\.venv/bin/python -m impkit\.scale record\b"),
           re.compile(r"^tools/gpu_session\.sh(?!.*--smoke)"),
           re.compile(r"^\.venv/bin/python -m impkit\.sweep record\b"),
           re.compile(r"^\.venv/bin/python -m impkit\.(decisive|sparsifiers) record\b"))


def readme_commands(text: str) -> list[str]:
    """Command lines of the ```bash blocks: comments stripped, backslash continuations joined, blank lines dropped."""
    out: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        pending = ""
        for line in block.splitlines():
            line = pending + line.strip()
            if line.endswith("\\"):
                pending = line[:-1].rstrip() + " "
                continue
            pending = ""
            code = re.sub(r"(^|\s+)#.*$", "", line).strip()  # README commands never quote a '#'
            if code:
                out.append(code)
    return out


def test_the_parser_sees_the_commands():
    cmds = readme_commands((ROOT / "README.md").read_text())
    assert any("papermill" in c and '-p seeds "[0, 1]"' in c for c in cmds)
    assert any(c.startswith(".venv/bin/python tools/run_notebooks.py") and '-p seeds="[0]"' in c for c in cmds)
    assert "make book" in cmds and all(not c.startswith("#") for c in cmds)


def test_readme_commands_run_as_written(tmp_path):
    cmds = [c for c in readme_commands((ROOT / "README.md").read_text()) if not any(p.match(c) for p in NOT_RUN)]
    assert len(cmds) >= 6, cmds
    work = tmp_path / "checkout"
    work.mkdir()
    for name in ("notebooks", "tools", "examples"):
        (work / name).symlink_to(ROOT / name)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    bindir = str(Path(sys.executable).parent) + "/"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "MPLBACKEND": "Agg"}
    for cmd in cmds:
        # /tmp/ first: the checkout itself may live under /tmp (CI clones there), and its venv path must survive
        run = cmd.replace("/tmp/", f"{scratch}/").replace(".venv/bin/", bindir)
        if "<run-dir>" in run:
            made = sorted((work / "runs").glob("nlgp-imp-s0-*"))
            assert len(made) == 1, made
            run = run.replace("<run-dir>", made[0].name)
        t0 = time.perf_counter()
        res = subprocess.run(["bash", "-c", run], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        print(f"{time.perf_counter() - t0:5.1f} s  {cmd}")  # shown with pytest -s
        assert res.returncode == 0, f"README command failed: {cmd}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
        if "papermill" in cmd:
            import nbformat

            out = nbformat.read(scratch / "rf-out.ipynb", as_version=4)
            injected = next(c for c in out.cells if "injected-parameters" in c.metadata.get("tags", []))
            assert 'seeds = "[0, 1]"' in injected.source  # papermill passed the string; the notebook read it
        if "run_notebooks.py" in cmd:
            assert "not passed: seeds" not in res.stdout  # 01 (C1's seeds) and 03 both take seeds: both got [0]
            assert "not declared there, not passed: n_patches" in res.stdout  # 03 takes no n_patches
            assert (scratch / "executed" / "03_imp_runs.ipynb").is_file()
