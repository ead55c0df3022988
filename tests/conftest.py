"""Shared fixtures. Registers a tiny synthetic dataset ``toy`` (used by the engine tests and CLI tests).

``toy``: 2 classes, 1×8×8 float32 images of Gaussian noise; class 1 carries a planted local feature
(a +1.5 bump on a random 2×2 patch). Options: ``n_train`` (default 512), ``n_test`` (128), ``seed``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import impkit.data as _data
from impkit.data.base import Dataset

ROOT = Path(__file__).resolve().parents[1]  # the repository root


def make_toy(root=None, split="train", seed=0, n_train=512, n_test=128, side=8, **_):
    n = n_train if split == "train" else n_test
    rng = np.random.default_rng([int(seed), 0 if split == "train" else 1, 1234])
    x = rng.normal(size=(n, side, side)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    for i in np.nonzero(y)[0]:
        a, b = rng.integers(0, side - 1, size=2)
        x[i, a:a + 2, b:b + 2] += 1.5
    return Dataset(x=torch.from_numpy(x.reshape(n, -1)), y=torch.from_numpy(y.astype(np.int64)),
                   image_shape=(1, side, side), num_classes=2, name="toy",
                   info={"options": {"seed": seed, "n_train": n_train, "n_test": n_test}})


if "toy" not in _data.names():
    _data.register("toy")(make_toy)


@pytest.fixture
def toy_overrides():
    """Overrides that make a `ci` run on `toy` take a second or two."""
    return {"train.steps": 120, "train.t_rewind": 10, "train.eval_every": 60, "train.checkpoint_every": 40,
            "prune.rounds": 3, "model.hidden": (16,)}


@pytest.fixture
def cli(capsys):
    """``cli(*args)`` runs ``impkit ARGS`` in-process and returns (exit status, stdout, stderr)."""
    from impkit.cli import main

    def run(*args):
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:  # argparse errors
            rc = e.code
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


def assert_one_error(rc, err: str, *needles: str) -> None:
    """The project standard for bad input: exit 2, one line on stderr, no traceback, naming each of ``needles``
    (the file or setting, and the fix)."""
    assert rc == 2, (rc, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith(("impkit: error: ", "run_notebooks: error: ")), err
    for n in needles:
        assert n in err, (n, err)


@pytest.fixture
def bad_input(cli):
    """``bad_input(*args, needles=(...))``: run ``impkit ARGS`` and check :func:`assert_one_error`; returns stderr."""

    def check(*args, needles=()):
        rc, _, err = cli(*args)
        assert_one_error(rc, err, *needles)
        return err

    return check


# ---------------------------------------------------------------------------------------------------------------
# tests/site checks a built book; `make site-check` builds one from the ci-preset notebooks and passes --site.
# Without --site that folder is not collected (a plain `pytest tests` has no book to check).
# ---------------------------------------------------------------------------------------------------------------
def kill_inside_round_1(cmd: list[str], out: Path, timeout: float = 60) -> Path:
    """Start ``cmd`` (a run writing under ``out``), SIGKILL it as soon as a round-1 checkpoint exists and return
    that checkpoint's path (AssertionError if none appears within ``timeout`` seconds)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, ck = time.time() + timeout, None
    while time.time() < deadline and proc.poll() is None:
        found = list(Path(out).glob("*/round_01/checkpoint.pt"))
        if found:
            ck = found[0]
            break
        time.sleep(0.01)
    assert ck is not None, "the run never reached a round-1 checkpoint"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return ck


def load_script(path: Path | str, name: str):
    """The module of a script outside the package (``tools/``, ``bench/``), ``path`` relative to the repository
    root, loaded once per test session under ``name`` (registered in ``sys.modules``: a script importing a sibling,
    as check_pages imports site_checks, then finds it)."""
    import importlib.util
    import sys

    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def same_params(a, b) -> bool:
    """Bit-for-bit equality of two runs' [(W, b), ...] per layer."""
    return len(a) == len(b) and all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))


class _Kill(BaseException):
    pass


def kill_at_round_1_checkpoint_and_resume(cfg, tmp_path: Path, monkeypatch, step: int):
    """Train ``cfg`` uninterrupted under tmp_path/clean, and under tmp_path/killed with a "kill" right after its
    round-1 checkpoint (asserted to be at ``step``) is written, then resumed. Returns (clean, killed) runs."""
    from impkit import store
    from impkit.runs import train_configs

    clean = train_configs([cfg], tmp_path / "clean", progress=False)[0]
    orig = store.save_checkpoint
    calls = []

    def killing(path, obj):
        orig(path, obj)
        if obj["round"] == 1:
            calls.append(obj["step"])
            raise _Kill()

    monkeypatch.setattr(store, "save_checkpoint", killing)
    with pytest.raises(_Kill):
        train_configs([cfg], tmp_path / "killed", progress=False)
    monkeypatch.setattr(store, "save_checkpoint", orig)
    assert calls == [step]
    killed = train_configs([cfg], tmp_path / "killed", progress=False)[0]
    assert killed.metrics(1)["resumed_from"] == step
    return clean, killed


def pytest_addoption(parser):
    parser.addoption("--site", default=None, metavar="DIR",
                     help="a built book's HTML folder (…/_build/html): run the checks in tests/site on it")


def pytest_ignore_collect(collection_path, config):
    from pathlib import Path

    if collection_path == Path(__file__).parent / "site" and not config.getoption("--site"):
        return True
    return None
