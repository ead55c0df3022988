"""Edits made in Jupyter reach the source of truth, notebooks/*.py, whatever directory Jupyter serves.

``make notebooks`` writes NAME.ipynb next to each NAME.py and the README says ``jupyter lab notebooks/``. Jupyter
then saves through jupytext's contents manager, which looks for the jupytext configuration only inside the
directory tree it serves: the pairing must be configured where it finds it. The test copies the project's
configuration files and one notebook into a temporary tree laid out like the repository, pairs them as
``make notebooks`` does, and saves an edited notebook through the contents manager rooted at ``notebooks/`` and at
the repository root.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "03_imp_runs"


def _project_copy(tmp_path: Path) -> Path:
    from jupytext.config import JUPYTEXT_CONFIG_FILES

    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    for folder in ("", "notebooks"):
        for name in JUPYTEXT_CONFIG_FILES:
            if (ROOT / folder / name).is_file():
                shutil.copy(ROOT / folder / name, repo / folder / name)
    if "[tool.jupytext" in (ROOT / "pyproject.toml").read_text():
        shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    shutil.copy(ROOT / "notebooks" / f"{NOTEBOOK}.py", repo / "notebooks" / f"{NOTEBOOK}.py")
    return repo


def _make_notebooks(repo: Path) -> None:
    """What `make notebooks` runs: jupytext --sync on the sources (the CLI finds the same configuration)."""
    from jupytext.cli import jupytext as jupytext_cli

    jupytext_cli(["--sync", str(repo / "notebooks" / f"{NOTEBOOK}.py")])
    assert (repo / "notebooks" / f"{NOTEBOOK}.ipynb").is_file()


@pytest.mark.parametrize("served", ["notebooks", "."])
@pytest.mark.parametrize("opened", ["ipynb", "py"])
def test_saving_in_jupyter_updates_the_py_source(tmp_path, served, opened):
    from jupytext import TextFileContentsManager

    repo = _project_copy(tmp_path)
    _make_notebooks(repo)
    cm = TextFileContentsManager(root_dir=str(repo / served))
    rel = ("" if served == "notebooks" else "notebooks/") + f"{NOTEBOOK}.{opened}"
    model = cm.get(rel, type="notebook") if opened == "py" else cm.get(rel)
    assert model["type"] == "notebook"
    cell = next(c for c in model["content"]["cells"] if c["cell_type"] == "markdown")
    cell["source"] += "\n\nEdited in Jupyter Lab."
    cm.save(model, rel)
    py = (repo / "notebooks" / f"{NOTEBOOK}.py").read_text()
    ipynb = (repo / "notebooks" / f"{NOTEBOOK}.ipynb").read_text()
    assert "# Edited in Jupyter Lab." in py  # the source of truth has the edit
    assert "Edited in Jupyter Lab." in ipynb  # and so has its pair
    assert py.startswith("# ---\n# jupyter:")  # still py:percent with its header
    assert "# %% [markdown]" in py
