"""Fixtures for the checks of a built book (run by `make site-check` with ``--site _build/site-check/_build/html``)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path, name: str):
    """Import a module from a file (tools/ and book/_ext/ are not packages)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def site(pytestconfig) -> Path:
    opt = pytestconfig.getoption("--site")
    if not opt:
        pytest.fail("tests/site checks a built book: pass --site DIR (make site-check does)")
    path = Path(opt)
    if not (path / "index.html").is_file():
        pytest.fail(f"--site {path}: no index.html there; build the book first (make site-check)")
    return path


@pytest.fixture(scope="session")
def checks():
    return load(ROOT / "tools" / "site_checks.py", "site_checks")


@pytest.fixture(scope="session")
def book_ext():
    return load(ROOT / "book" / "_ext" / "impkit_book.py", "impkit_book")
