"""tools/run_notebooks.py: papermill parameters reach the notebook and change its output; failures are loud."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _stdout(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def _run(tmp_path: Path, src: Path, *params: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--preset", "ci", "--runs", str(tmp_path / "runs"),
           "--out", str(tmp_path / "out"), str(src)]
    for p in params:
        cmd += ["-p", p]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_parameters_change_the_executed_notebook(tmp_path):
    src = ROOT / "notebooks" / "01_ica_pca.py"
    res = _run(tmp_path, src, "n_patches=1500", "patch_size=8", "n_components=16", "window=2")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out" / "01_ica_pca.ipynb"
    assert "1500 patches of 8x8" in _stdout(out)
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata["tags"]  # hidden in the book
    assert "patch_size = 8" in injected[0].source


def test_a_failing_notebook_stops_with_its_name(tmp_path):
    src = tmp_path / "broken.py"
    src.write_text('# %% tags=["parameters"]\npreset = "ci"\n\n# %%\nraise RuntimeError("boom")\n')
    res = _run(tmp_path, src)
    assert res.returncode != 0
    assert "broken.py" in res.stderr and "boom" in res.stderr
    assert not (tmp_path / "out" / "broken.ipynb").exists()  # no half-executed notebook reaches the book


def test_stderr_output_is_refused(tmp_path):
    src = tmp_path / "noisy.py"
    src.write_text('# %% tags=["parameters"]\npreset = "ci"\n\n# %%\nimport warnings\nwarnings.warn("careful")\n')
    res = _run(tmp_path, src)
    assert res.returncode != 0 and "stderr" in res.stderr and "careful" in res.stderr
