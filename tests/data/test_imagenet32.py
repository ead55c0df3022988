"""ImageNet32 loader on small files written here, in both official formats."""
import os
import pickle

import numpy as np
import pytest
import torch

import impkit.data as data
from impkit.data import imagenet32 as inet

D = 3072
ROWS = 12  # rows per training batch
NB = 10  # training batches written (the official set has 10)


def _batches(seed=0):
    rng = np.random.default_rng(seed)
    mean = rng.uniform(50, 200, D).astype(np.float64)
    train = []
    for _ in range(NB):
        x = rng.integers(0, 256, (ROWS, D), dtype=np.uint8)
        y = rng.integers(1, 1001, ROWS)
        y[:8] = [1, 2, 3, 1, 2, 3, 1000, 5]
        train.append((x, y))
    val = (rng.integers(0, 256, (25, D), dtype=np.uint8), rng.integers(1, 1001, 25))
    return train, val, mean


def write_npz(root, train, val, mean, sub=True):
    tdir = root / "Imagenet32_train_npz" if sub else root
    vdir = root / "Imagenet32_val_npz" if sub else root
    tdir.mkdir(parents=True, exist_ok=True)
    vdir.mkdir(parents=True, exist_ok=True)
    for i, (x, y) in enumerate(train, 1):
        np.savez(tdir / f"train_data_batch_{i}.npz", data=x, labels=y, mean=mean)
    np.savez(vdir / "val_data.npz", data=val[0], labels=val[1])


def write_pickle(root, train, val, mean, protocol=2):
    (root / "Imagenet32_train").mkdir(parents=True, exist_ok=True)
    (root / "Imagenet32_val").mkdir(parents=True, exist_ok=True)
    for i, (x, y) in enumerate(train, 1):
        with open(root / "Imagenet32_train" / f"train_data_batch_{i}", "wb") as f:
            pickle.dump({"data": x, "labels": [int(v) for v in y], "mean": mean}, f, protocol=protocol)
    with open(root / "Imagenet32_val" / "val_data", "wb") as f:
        pickle.dump({"data": val[0], "labels": [int(v) for v in val[1]]}, f, protocol=protocol)


@pytest.fixture(scope="module")
def files():
    return _batches()


def _check(ds, train, mean, batches=None):
    batches = batches or list(range(1, NB + 1))
    x = np.concatenate([train[b - 1][0] for b in batches])
    y = np.concatenate([train[b - 1][1] for b in batches]) - 1
    assert ds.x.dtype == torch.uint8 and ds.x.shape == (len(y), D)
    np.testing.assert_array_equal(ds.x.numpy(), x)
    np.testing.assert_array_equal(ds.y.numpy(), y)
    assert ds.image_shape == (3, 32, 32) and ds.num_classes == 1000 and ds.scale == 255.0
    np.testing.assert_allclose(ds.shift.numpy(), mean.astype(np.float32))
    f = ds.features(slice(0, 2)).numpy()
    np.testing.assert_allclose(f, (x[:2] - mean.astype(np.float32)) / 255, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", ["npz", "pickle", "pickle5", "npz-flat"])
def test_reads_both_formats(tmp_path, files, fmt):
    train, val, mean = files
    if fmt.startswith("npz"):
        write_npz(tmp_path, train, val, mean, sub=(fmt == "npz"))
    else:
        write_pickle(tmp_path, train, val, mean, protocol=5 if fmt == "pickle5" else 2)
    _check(data.load("imagenet32", root=str(tmp_path)), train, mean)
    _check(data.load("imagenet32", root=tmp_path, batches=[3, 1], seed=7), train, mean, [3, 1])
    te = data.load("imagenet32", root=tmp_path, split="test")
    np.testing.assert_array_equal(te.x.numpy(), val[0])
    np.testing.assert_array_equal(te.y.numpy(), val[1] - 1)
    np.testing.assert_allclose(te.shift.numpy(), mean.astype(np.float32))  # mean of the train files


@pytest.mark.parametrize("fmt", ["npz", "pickle"])
def test_class_subset_and_n_train(tmp_path, files, fmt):
    train, val, mean = files
    (write_npz if fmt == "npz" else write_pickle)(tmp_path, train, val, mean)
    x = np.concatenate([t[0] for t in train])
    y = np.concatenate([t[1] for t in train]) - 1
    ds = data.load("imagenet32", root=tmp_path, classes=3)
    keep = y < 3
    np.testing.assert_array_equal(ds.x.numpy(), x[keep])
    np.testing.assert_array_equal(ds.y.numpy(), y[keep])
    assert ds.num_classes == 3
    ds = data.load("imagenet32", root=tmp_path, classes=[999, 0])
    keep = (y == 999) | (y == 0)
    np.testing.assert_array_equal(ds.x.numpy(), x[keep])
    np.testing.assert_array_equal(ds.y.numpy(), np.where(y[keep] == 999, 0, 1))
    ds = data.load("imagenet32", root=tmp_path, n_train=ROWS + 5)
    np.testing.assert_array_equal(ds.x.numpy(), x[: ROWS + 5])
    ds = data.load("imagenet32", root=tmp_path, classes=[0, 1, 2], n_train=4)
    np.testing.assert_array_equal(ds.y.numpy(), y[y < 3][:4])


def test_env_var(tmp_path, files, monkeypatch):
    write_npz(tmp_path / "imagenet32", *files)
    monkeypatch.setenv("IMPKIT_DATA", str(tmp_path))
    assert len(data.load("imagenet32", split="test")) == 25


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("payload", ["toplevel", "nested"])
def test_malicious_pickle_is_refused(tmp_path, files, payload):
    train, val, mean = files
    write_pickle(tmp_path, train, val, mean)
    marker = tmp_path / "pwned"
    evil = Evil(marker)
    obj = evil if payload == "toplevel" else {"data": train[0][0], "labels": [1] * ROWS, "mean": mean, "x": evil}
    with open(tmp_path / "Imagenet32_train" / "train_data_batch_2", "wb") as f:
        pickle.dump(obj, f, protocol=2)
    with pytest.raises(inet.UnsafePickleError, match=r"refused.*(posix|os|nt)\.system.*train_data_batch_2|train_data_batch_2.*refused") as e:
        data.load("imagenet32", root=tmp_path)
    assert not marker.exists()
    # a bad data file like any other (reported in one line by the CLI), with what to do about it
    assert isinstance(e.value, inet.ImageNet32Error) and "delete it and download the official" in str(e.value)


def test_restricted_unpickler_refuses_builtins(tmp_path):
    p = tmp_path / "f"
    with open(p, "wb") as f:
        pickle.dump({"a": eval}, f)  # a global that is not on the allow-list
    with pytest.raises(inet.UnsafePickleError, match="builtins.eval"):
        inet.restricted_load(p)


def test_wrong_directory(tmp_path):
    with pytest.raises(inet.ImageNet32Error, match=r"train_data_batch_\{1\.\.10\}\.npz.*IMPKIT_DATA"):
        data.load("imagenet32", root=tmp_path / "nowhere")


@pytest.mark.parametrize("fmt", ["npz", "pickle"])
def test_missing_batch(tmp_path, files, fmt):
    (write_npz if fmt == "npz" else write_pickle)(tmp_path, *files)
    sub = "Imagenet32_train_npz/train_data_batch_5.npz" if fmt == "npz" else "Imagenet32_train/train_data_batch_5"
    (tmp_path / sub).unlink()
    assert len(data.load("imagenet32", root=tmp_path, batches=[1, 4])) == 2 * ROWS
    with pytest.raises(inet.ImageNet32Error, match=r"missing ImageNet32 file .*train_data_batch_5"):
        data.load("imagenet32", root=tmp_path, batches=[1, 5])
    with pytest.raises(inet.ImageNet32Error, match=r"missing ImageNet32 file .*train_data_batch_5"):
        data.load("imagenet32", root=tmp_path)  # default: all 10 batches


def _corrupt(tmp_path, files, fmt, **change):
    train, val, mean = files
    train = list(train)
    x, y = train[1]
    d = {"data": x, "labels": y, "mean": mean}
    d.update(change)
    (write_npz if fmt == "npz" else write_pickle)(tmp_path, train, val, mean)
    if fmt == "npz":
        np.savez(tmp_path / "Imagenet32_train_npz" / "train_data_batch_2.npz", **d)
    else:
        with open(tmp_path / "Imagenet32_train" / "train_data_batch_2", "wb") as f:
            pickle.dump(d, f)


@pytest.mark.parametrize("fmt", ["npz", "pickle"])
@pytest.mark.parametrize("case,pattern", [
    ("shape", r"train_data_batch_2.*'data' must have shape \(12, 3072\).*\(12, 1024\)"),
    ("rows", r"train_data_batch_2.*'data' must have shape \(12, 3072\).*\(11, 3072\)"),
    ("dtype", r"train_data_batch_2.*'data' must be a uint8 array, got float32"),
    ("labels_high", r"train_data_batch_2.*out of range: expected 1\.\.1000, found .*\.\.1001"),
    ("labels_zero", r"train_data_batch_2.*out of range: expected 1\.\.1000, found 0\.\."),
    ("labels_float", r"train_data_batch_2.*'labels' must be .*integers"),
    ("mean", r"train_data_batch_1.*'mean' must .*shape \(3072,\)"),
    ("nokey", r"train_data_batch_2.*missing key.*'labels'"),
])
def test_broken_files(tmp_path, files, fmt, case, pattern):
    x, y = files[0][1]
    change = {
        "shape": {"data": x[:, :1024].copy()},
        "rows": {"data": x[:-1].copy()},
        "dtype": {"data": x.astype(np.float32)},
        "labels_high": {"labels": np.r_[y[:-1], 1001]},
        "labels_zero": {"labels": np.r_[0, y[1:]]},
        "labels_float": {"labels": y.astype(np.float64) + 0.5},
        "mean": {},
        "nokey": {"labels": None},
    }[case]
    if case == "nokey":
        _corrupt(tmp_path, files, fmt)
        if fmt == "npz":
            np.savez(tmp_path / "Imagenet32_train_npz" / "train_data_batch_2.npz", data=x, mean=files[2])
        else:
            with open(tmp_path / "Imagenet32_train" / "train_data_batch_2", "wb") as f:
                pickle.dump({"data": x, "mean": files[2]}, f)
    elif case == "mean":
        train, val, mean = files
        (write_npz if fmt == "npz" else write_pickle)(tmp_path, train, val, mean[:100])
    else:
        _corrupt(tmp_path, files, fmt, **change)
    with pytest.raises(inet.ImageNet32Error, match=pattern):
        data.load("imagenet32", root=tmp_path)


def test_not_a_file_format(tmp_path, files):
    write_npz(tmp_path, *files)
    (tmp_path / "Imagenet32_train_npz" / "train_data_batch_3.npz").write_bytes(b"garbage")
    with pytest.raises(inet.ImageNet32Error, match="train_data_batch_3.npz: not a readable .npz"):
        data.load("imagenet32", root=tmp_path)


def test_unknown_option(tmp_path, files):
    write_npz(tmp_path, *files)
    with pytest.raises(ValueError, match=r"unknown option\(s\) 'batch'.*valid options: batches, classes"):
        data.load("imagenet32", root=tmp_path, batch=[1])
