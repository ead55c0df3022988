"""Fashion-MNIST: the real Debian files when installed, an IDX round trip, clear errors."""
import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data import fashion_mnist as fm

INSTALL = "apt-get install dataset-fashion-mnist"


def in_ci(env) -> bool:
    """Whether ``env`` (a mapping like os.environ) is a CI run: ``CI`` set to true/1/yes (.ci/run sets CI=true)."""
    return str(env.get("CI", "")).strip().lower() in ("true", "1", "yes")


def missing_package(err: Exception, env) -> tuple[str, str]:
    """What a test does when the Fashion-MNIST files are not installed: ("fail", reason) in CI, which installs the
    package (.ci/run), else ("skip", reason); the reason names the package and the install command."""
    reason = (f"Fashion-MNIST is not installed ({type(err).__name__}); install the Debian package with "
              f"`{INSTALL}` (or set IMPKIT_DATA) to run this test")
    if in_ci(env):
        return "fail", f"CI=true but {reason}: .ci/run installs it, so CI must not skip this test"
    return "skip", reason


def load_real_or_skip(**kw):
    """``data.load("fashion-mnist", **kw)``, or skip (fail under CI=true) if the package is not installed."""
    try:
        return data.load("fashion-mnist", **kw)
    except data.DataNotFoundError as err:
        action, reason = missing_package(err, os.environ)
        if action == "fail":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.parametrize("ci,action", [(None, "skip"), ("", "skip"), ("false", "skip"), ("0", "skip"),
                                       ("true", "fail"), ("TRUE", "fail"), ("1", "fail")])
def test_missing_package_skips_except_in_ci(ci, action):
    env = {} if ci is None else {"CI": ci}
    got, reason = missing_package(data.DataNotFoundError("Fashion-MNIST not found"), env)
    assert got == action and INSTALL in reason


def test_missing_package_decision_reaches_pytest(tmp_path, monkeypatch):
    # with the files absent: skipped with the install command, or failed when CI=true
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "system"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=INSTALL):
        load_real_or_skip(split="test")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but Fashion-MNIST is not installed"):
        load_real_or_skip(split="test")
    _install(tmp_path / "env")  # installed: loaded, whatever CI says
    assert len(load_real_or_skip(split="test")) == 10


def test_real_files():
    # .ci/run installs the Debian package (CI=true: a missing package fails); elsewhere it is skipped with the reason
    tr = load_real_or_skip()
    te = data.load("fashion-mnist", split="test")
    assert tr.x.shape == (60000, 784) and te.x.shape == (10000, 784) and tr.x.dtype == torch.uint8
    assert (torch.bincount(tr.y) == 6000).all() and (torch.bincount(te.y) == 1000).all()
    assert tr.image_shape == (1, 28, 28) and tr.scale == 255.0 and tr.shift is None
    sub = data.load("fashion-mnist", classes=[9, 0], n_train=500, center=True)
    assert len(sub) == 500 and set(sub.y.tolist()) == {0, 1} and sub.num_classes == 2
    keep = (tr.y == 9) | (tr.y == 0)
    assert torch.equal(sub.x, tr.x[keep][:500])
    assert torch.allclose(sub.shift, tr.x.double().mean(0).float(), atol=1e-3)


def _write_idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.tobytes())


def _install(d: Path) -> None:
    """Small Fashion-MNIST files (30 train, 10 test rows) in directory ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for s, (xi, yi) in fm.FILES.items():
        n = 30 if s == "train" else 10
        _write_idx(d / f"{xi}.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(d / f"{yi}.gz", np.arange(n) % 10)


def test_idx_round_trip_and_env(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    d = tmp_path / "fashion-mnist"
    d.mkdir()
    xs = {s: rng.integers(0, 256, (n, 28, 28)) for s, n in (("train", 30), ("test", 10))}
    ys = {s: np.arange(len(xs[s])) % 10 for s in xs}
    for s, (xi, yi) in fm.FILES.items():
        _write_idx(d / f"{xi}.gz", xs[s])
        _write_idx(d / f"{yi}.gz", ys[s])
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path))
    ds = data.load("fashion-mnist", split="test", seed=3)
    np.testing.assert_array_equal(ds.x.numpy(), xs["test"].reshape(10, -1))
    np.testing.assert_array_equal(ds.y.numpy(), ys["test"])
    assert str(d) == ds.info["root"]
    # a truncated file is named in the error
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 10]) + b"\0" * 9))
    with pytest.raises(fm.IDXError, match=r"t10k-labels-idx1-ubyte.gz: header says shape \(10,\)"):
        data.load("fashion-mnist", split="test", root=tmp_path)


def test_missing_files_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "system"))
    with pytest.raises(FileNotFoundError) as e:
        data.load("fashion-mnist")
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "env") in msg and "system" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "IMPKIT_DATA" in msg


def test_an_explicit_root_is_the_only_place_searched(tmp_path, monkeypatch):
    # the data are installed where IMPKIT_DATA points, but root= names another directory: no silent substitution
    _install(tmp_path / "env")
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path / "env"))
    assert len(data.load("fashion-mnist", split="test")) == 10
    for root in (tmp_path / "empty", tmp_path / "missing"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        with pytest.raises(FileNotFoundError) as e:
            data.load("fashion-mnist", split="test", root=root)
        assert str(root) in str(e.value) and str(tmp_path / "env") not in str(e.value)


def test_bad_option():
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'n'.*valid options: center, classes, n_test, n_train"):
        data.load("fashion-mnist", n=5)


def test_system_data_can_be_hidden(tmp_path, monkeypatch):
    # `make site-check` builds the site with IMPKIT_SYSTEM_DATA=0, as on a machine without the Debian package: the
    # system directory is then not searched (found there otherwise), while $IMPKIT_DATA still is
    _install(tmp_path / "system")
    monkeypatch.delenv("IMPKIT_DATA", raising=False)
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "system"))
    assert len(data.load("fashion-mnist", split="test")) == 10
    monkeypatch.setenv("IMPKIT_SYSTEM_DATA", "0")
    with pytest.raises(FileNotFoundError):
        data.load("fashion-mnist", split="test")
    _install(tmp_path / "env")
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path / "env"))
    assert len(data.load("fashion-mnist", split="test")) == 10
