"""tools/run_notebooks.py: papermill parameters reach the notebook and change its output; failures are loud."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

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


@pytest.mark.parametrize("noise", ['import warnings\nwarnings.warn("careful")',
                                   'import sys\nprint("careful", file=sys.stderr)'])
def test_stderr_output_is_refused(tmp_path, noise):
    src = tmp_path / "noisy.py"
    src.write_text(f'# %% tags=["parameters"]\npreset = "ci"\n\n# %%\n{noise}\n')
    res = _run(tmp_path, src)
    assert res.returncode != 0 and "stderr" in res.stderr and "careful" in res.stderr


def test_out_or_runs_that_are_files_are_one_error_line(tmp_path):
    from conftest import assert_one_error

    f = tmp_path / "afile"
    f.write_text("keep")
    src = ROOT / "notebooks" / "01_ica_pca.py"
    for flag, args in [("--out", ["--out", str(f), "--runs", str(tmp_path / "runs")]),
                       ("--runs", ["--out", str(tmp_path / "out"), "--runs", str(f / "runs")])]:
        res = subprocess.run([sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--preset", "ci", *args,
                              str(src)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert_one_error(res.returncode, res.stderr, flag, f"{f} is a file, not a directory", "pass a directory")
    assert f.read_text() == "keep" and not (tmp_path / "out").exists()


def test_only_declared_parameters_are_passed_and_the_kernel_is_quiet(tmp_path):
    """-p seeds reaches the notebook that declares seeds and is left out (with a note) for the one that does not:
    papermill never warns "Passed unknown parameter". The kernel starts with transport encryption, so ipykernel's
    warning about plain-text TCP is not printed; nothing else is filtered (see test_stderr_output_is_refused)."""
    import zmq

    a = tmp_path / "with_seeds.py"
    a.write_text('# %% tags=["parameters"]\npreset = "ci"\nseeds = None\n\n# %%\nprint("A", seeds)\n')
    b = tmp_path / "without_seeds.py"
    b.write_text('# %% tags=["parameters"]\npreset = "ci"\n\n# %%\nprint("B", "seeds" in globals())\n')
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--preset", "ci", "--runs", str(tmp_path / "runs"),
         "--out", str(tmp_path / "out"), "-p", "seeds=[0, 1]", str(a), str(b)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "A [0, 1]" in _stdout(tmp_path / "out" / "with_seeds.ipynb")
    assert "B False" in _stdout(tmp_path / "out" / "without_seeds.ipynb")
    assert "unknown parameter" not in res.stderr + res.stdout
    assert "not declared there, not passed: seeds" in res.stdout
    if zmq.has("curve"):
        assert "without encryption" not in res.stderr + res.stdout, res.stderr


def test_a_parameter_no_notebook_declares_is_an_error(tmp_path):
    src = tmp_path / "plain.py"
    src.write_text('# %% tags=["parameters"]\npreset = "ci"\n\n# %%\nprint(1)\n')
    res = _run(tmp_path, src, "sedes=[0]")
    assert res.returncode != 0 and "sedes" in res.stderr and "declares" in res.stderr


# ---------------------------------------------------------------------------------------------------------------
# the paper preset's smoke pass (make test): wiring only; the pass itself is `make paper-smoke`
# ---------------------------------------------------------------------------------------------------------------
def _tool():
    from conftest import load_script

    return load_script("tools/run_notebooks.py", "run_notebooks")


def test_paper_smoke_keeps_the_paper_shapes():
    from impkit import methods
    from impkit.presets import SMOKE, make_config, preset_seeds

    sm = SMOKE["paper"]
    assert sm["seeds"] and set(sm["seeds"]) <= set(preset_seeds("paper"))
    # only the length of training changes: widths, data, clone, optimiser and pruning schedule are the paper's
    assert set(sm["overrides"]) <= {"train.steps", "train.t_rewind", "train.eval_every", "train.checkpoint_every"}
    paper = make_config("paper")
    for name in ("imagenet32", "imagenet32-clone"):
        for method in methods.names():
            c = make_config("paper", name, method, sm["seeds"][-1], overrides=sm["overrides"])
            assert (c.model.input_dim, c.model.hidden, c.model.output_dim) == (3072, (1024, 1024), 1000)
            assert c.model == paper.model and c.data.root is None
            assert (c.prune.rate, c.prune.rounds, c.prune.scope, c.prune.output_rate) == (0.3, 10, "layer", None)
            assert (c.train.lr, c.train.batch) == (paper.train.lr, paper.train.batch)
            assert 10 <= c.train.steps <= 100 and 0 < c.train.t_rewind < c.train.steps  # "a few dozen steps"
    assert make_config("paper", "imagenet32-clone", overrides=sm["overrides"]).data.options["per_channel"] is True


def test_smoke_parameters_reach_the_notebooks_that_declare_them(tmp_path):
    a = tmp_path / "declares.py"
    a.write_text('# %% tags=["parameters"]\npreset = "ci"\noverrides = {}\nseeds = None\n\n'
                 '# %%\nprint("A", preset, overrides["train.steps"], seeds)\n')
    b = tmp_path / "plain.py"
    b.write_text('# %% tags=["parameters"]\npreset = "ci"\n\n# %%\nprint("B", preset, "overrides" in globals())\n')
    cmd = [sys.executable, str(ROOT / "tools" / "run_notebooks.py"), "--preset", "paper", "--smoke", "--runs",
           str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "-p", "seeds=[2]", str(a), str(b)]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    from impkit.presets import SMOKE

    steps = SMOKE["paper"]["overrides"]["train.steps"]
    assert f"A paper {steps} [2]" in _stdout(tmp_path / "out" / "declares.ipynb")  # explicit -p wins over the smoke
    assert "B paper False" in _stdout(tmp_path / "out" / "plain.ipynb")  # undeclared parameters are not injected
    assert res.stdout.count("at preset=paper (smoke pass: ") == 2


def test_every_notebook_that_trains_takes_overrides():
    """Otherwise the smoke pass would train 40,000 steps per round at preset=paper."""
    import jupytext

    tool = _tool()
    for src in sorted((ROOT / "notebooks").glob("*.py")):
        text = src.read_text()
        declared = tool.declared_parameters(jupytext.read(src))
        assert "preset" in declared, src.name
        if any(f in text for f in ("ensure_runs(", "screen(", "make_config(")):
            assert "overrides" in declared, f"{src.name} trains or loads preset data but has no overrides parameter"


def test_make_test_runs_the_paper_smoke_on_the_standin():
    mk = (ROOT / "Makefile").read_text()
    test_line = next(line for line in mk.splitlines() if line.startswith("test:"))
    assert "paper-smoke" in test_line.split()
    recipe = mk.split("\npaper-smoke:", 1)[1].split("\n\n", 1)[0]
    assert "--preset paper --smoke" in recipe and "IMPKIT_DATA=$(abspath $(STANDIN))" in recipe
    assert "-m impkit.data.standin --out $(STANDIN)" in mk
